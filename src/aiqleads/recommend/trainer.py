"""Training a recommender from the event log, and the registry's deployment steps.

`train_from_log` reads every lead's preview columns, the agents' stated preferences and the
events of (since − history_days, until], builds LambdaRank groups from the events of
[since, until) (`training.build_training_set`), trains, saves the artifact under
`artifacts/<version>/`, registers it and, unless told not to, makes it the serving version:
every process picks it up within `reload_check_seconds` (`registry.ModelRegistry`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import RecommendSettings
from aiqleads.events import repository as event_log
from aiqleads.leads.visibility import leads
from aiqleads.models.enums import EventKind
from aiqleads.recommend import repository
from aiqleads.recommend.features import LeadTable
from aiqleads.recommend.profile import HOLD, PURCHASE, RETURN, VIEW, Preferences
from aiqleads.recommend.ranker import RankerConfig, train
from aiqleads.recommend.service import _stated_from_row
from aiqleads.recommend.training import LeadIndex, build_training_set

KIND_CODES = {
    EventKind.VIEW.value: VIEW,
    EventKind.HOLD.value: HOLD,
    EventKind.PURCHASE.value: PURCHASE,
    EventKind.RETURN.value: RETURN,
}


@dataclass(frozen=True, slots=True)
class EventArrays:
    """Interactions as arrays (the shape `training` reads)."""

    user: NDArray[np.int64]
    item: NDArray[np.int64]
    kind: NDArray[np.int8]
    at: NDArray[np.float64]


async def lead_table(session: AsyncSession) -> LeadTable:
    """Every lead's preview columns (the inventory the features read)."""
    cols = [
        leads.c.id,
        leads.c.preview_latitude,
        leads.c.preview_longitude,
        leads.c.h3_r8,
        leads.c.h3_r7,
        leads.c.zip_code,
        leads.c.kind,
        leads.c.bedrooms,
        leads.c.asking_price_cents,
        leads.c.score_bucket,
        leads.c.published_at,
        repository.DEMAND,
    ]
    rows = (await session.execute(select(*cols).order_by(leads.c.id))).all()
    return LeadTable.from_rows(rows)


async def interactions(session: AsyncSession, *, start: datetime, end: datetime) -> EventArrays:
    """Agents' views, holds, purchases and returns with start < at <= end."""
    rows = await event_log.since(session, start=start, end=end, by="account")
    kept = [r for r in rows if r[1] in KIND_CODES]
    return EventArrays(
        user=np.asarray([r[0] for r in kept], dtype=np.int64),
        item=np.asarray([r[4] for r in kept], dtype=np.int64),
        kind=np.asarray([KIND_CODES[r[1]] for r in kept], dtype=np.int8),
        at=np.asarray([r[2].timestamp() for r in kept], dtype=np.float64),
    )


async def stated_preferences(session: AsyncSession) -> dict[int, Preferences]:
    rows = (await session.execute(select(repository.preferences))).all()
    return {int(r.account_id): _stated_from_row(r) for r in rows}


async def train_from_log(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    settings: RecommendSettings,
    artifacts: Path,
    version: str | None = None,
    activate: bool = True,
    config: RankerConfig | None = None,
) -> dict[str, Any]:
    """Train, save, register and (by default) serve a new version; returns its summary.
    Raises ValueError when the window holds nothing to learn from."""
    if since >= until:
        raise ValueError("since must be before until")
    version = version or f"lambdarank-{now:%Y%m%dT%H%M%SZ}"
    index = LeadIndex(await lead_table(session))
    inter = await interactions(
        session, start=since - timedelta(days=settings.history_days), end=until
    )
    ts = build_training_set(
        index,
        inter,
        await stated_preferences(session),
        start=since.timestamp(),
        end=until.timestamp(),
        pool=settings.candidate_pool,
    )
    window = (since.isoformat(), until.isoformat())
    ranker = train(
        ts.X,
        ts.y,
        ts.groups,
        version=version,
        trained_at=now.isoformat(),
        training_window=window,
        config=config,
    )
    folder = ranker.save(artifacts)
    await repository.add_model(
        session,
        {
            "version": version,
            "trained_at": now,
            "feature_names": list(ranker.meta.feature_names),
            "window_start": since,
            "window_end": until,
            "metrics": ranker.meta.metrics,
            "artifact_path": str(folder.resolve()),
        },
    )
    if activate:
        await repository.activate(session, version, now=now)
    return {
        "version": version,
        "artifact": str(folder),
        "serving": activate,
        "metrics": ranker.meta.metrics,
    }
