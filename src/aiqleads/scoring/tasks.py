"""Scores follow the features: a periodic task (every AIQ_WORKER__SCORE_REFRESH_SECONDS, 5 min
by default) rescores and reprices the leads whose features moved since about its last run,
with the active model: leads with an event (a view, hold, purchase, return) in the last two
periods, and leads still carrying the rules-1 score ingestion gave them. Both sets overlap
from run to run on purpose: scoring a lead twice gives the same answer, missing one does not.
Buckets come from the cuts the last full run stored (`aiqleads score --all`), so a partial run
does not reshuffle a metro.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.db.engine import transaction
from aiqleads.events import repository as events
from aiqleads.features import service as feature_store
from aiqleads.features.lead_market import FEATURE_SET
from aiqleads.features.matrix import FeatureMatrix
from aiqleads.leads.pricing import RULES_VERSION
from aiqleads.scoring import repository
from aiqleads.scoring.rescore import rescore
from aiqleads.worker import TaskContext, task

log = logging.getLogger(__name__)

UNSCORED_BATCH = 5000  # rules-scored leads taken per run; the rest wait for the next one


async def lead_features(
    session: AsyncSession, now: datetime, lead_ids: Sequence[int] | None
) -> FeatureMatrix:
    """The scoring model's feature provider: the "lead_market" set (the lead's own features,
    its ZIP's market context and behaviour × market interactions), in batch, through the
    feature store's own code (`features.service.compute`, what `aiqleads features build --set
    lead_market` writes)."""
    return await feature_store.compute(session, FEATURE_SET, now, lead_ids)


@task("scoring.refresh", every=lambda settings: settings.worker.score_refresh_seconds)
async def refresh(ctx: TaskContext) -> None:
    """Rescore the leads whose features moved (see the module's docstring); nothing without
    an active model."""
    now = ctx.clock.now()
    since = now - timedelta(seconds=2 * ctx.settings.worker.score_refresh_seconds)
    async with transaction(ctx.sessions) as session:
        if await repository.active(session) is None:
            return
        moved = await events.leads_with_events(
            session, since=since, until=now + timedelta(microseconds=1)
        )
        unscored = await repository.lead_ids_scored_by(session, RULES_VERSION, limit=UNSCORED_BATCH)
    ids = sorted({*moved, *unscored})
    if not ids:
        return
    done = await rescore(
        ctx.sessions, lead_features, now=now, policy=ctx.settings.pricing, lead_ids=ids
    )
    log.info("scores refreshed", extra={"leads": done.scored, "model_version": done.version})
