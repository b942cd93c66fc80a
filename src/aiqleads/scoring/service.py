"""The model registry: register a trained model's artifact, choose the active one, list them,
and export each model's feature importance as a Prometheus gauge
(aiq_scoring_feature_importance_ratio)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.kit.clock import as_utc
from aiqleads.models import ScoringModelRow
from aiqleads.observability.metrics import SCORING_FEATURE_IMPORTANCE
from aiqleads.scoring import repository
from aiqleads.scoring.model import ScoringModel, importance_shares


async def register(
    session: AsyncSession,
    model: ScoringModel,
    artifact_path: Path,
    *,
    now: datetime,
    activate: bool,
) -> ScoringModelRow:
    """Record a saved model in the registry (and make it the active one if `activate`).

    The training window and trained_at come from the model's metadata (`now` when it has no
    trained_at). Raises IntegrityError when the version is already registered."""
    meta = model.meta
    window = meta.training_window
    row = await repository.add(
        session,
        {
            "version": meta.version,
            "trained_at": datetime.fromisoformat(meta.trained_at) if meta.trained_at else now,
            "feature_set": meta.feature_set,
            "feature_version": meta.feature_version,
            "feature_names": list(meta.feature_names),
            "window_start": None if window is None else datetime.fromisoformat(window[0]),
            "window_end": None if window is None else datetime.fromisoformat(window[1]),
            "metrics": meta.metrics,
            "importance": meta.importance,
            "artifact_path": str(artifact_path),
        },
    )
    if activate:
        await repository.activate(session, meta.version)
        row.is_active = True
    export([row])
    return row


async def models(session: AsyncSession) -> list[ScoringModelRow]:
    """Every registered model, newest first."""
    return await repository.listed(session)


async def active(session: AsyncSession) -> ScoringModelRow | None:
    return await repository.active(session)


def export(rows: list[ScoringModelRow]) -> None:
    """Set the importance gauge of each model: its features' shares of the total gain."""
    for row in rows:
        for feature, share in importance_shares(row.importance).items():
            SCORING_FEATURE_IMPORTANCE.labels(row.version, feature).set(share)


def window(row: ScoringModelRow) -> tuple[datetime, datetime] | None:
    """The row's training window as UTC instants (SQLite returns them naive), or None."""
    if row.window_start is None or row.window_end is None:
        return None
    return as_utc(row.window_start), as_utc(row.window_end)
