"""The operators' view of the model registry."""

from __future__ import annotations

from fastapi import APIRouter

from aiqleads.deps import CurrentAdmin, DbSession
from aiqleads.routing import SessionRoute
from aiqleads.scoring import service
from aiqleads.scoring.schemas import ScoringModelOut

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/admin/scoring", tags=["admin"])


@router.get("/models")
async def list_models(_: CurrentAdmin, session: DbSession) -> list[ScoringModelOut]:
    """Every registered scoring model, newest first: version, active or not, features, training
    window, metrics and feature importance. No lead data; admins only."""
    rows = await service.models(session)
    service.export(rows)
    return [
        ScoringModelOut.model_validate(
            {
                "version": r.version,
                "is_active": r.is_active,
                "trained_at": r.trained_at,
                "feature_set": r.feature_set,
                "feature_version": r.feature_version,
                "feature_names": r.feature_names,
                "window_start": r.window_start,
                "window_end": r.window_end,
                "metrics": r.metrics,
                "importance": r.importance,
            }
        )
        for r in rows
    ]
