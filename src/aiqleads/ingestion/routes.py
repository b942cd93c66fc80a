"""Operator endpoints of ingestion: the quarantine (list what ingestion could not use, try it
again: the same service as `aiqleads quarantine list|retry`) and the record of runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from aiqleads.auth.principal import Principal
from aiqleads.deps import CurrentAdmin, DbSession, PrincipalApart, State
from aiqleads.errors import Forbidden, NotFound
from aiqleads.ingestion import quarantine, runs
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.ingestion.schemas import (
    IngestionRunOut,
    IngestionRunPage,
    QuarantineOut,
    QuarantinePage,
    RetryIn,
    RetryOut,
)
from aiqleads.models.enums import RunOutcome
from aiqleads.routing import SessionRoute

MAX_ID = 2**63 - 1  # the largest id a 64-bit integer column holds

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/admin/quarantine", tags=["admin"])
runs_router = APIRouter(
    route_class=SessionRoute, prefix="/api/v1/admin/ingestion/runs", tags=["admin"]
)


async def _admin(principal: PrincipalApart) -> Principal:
    """An admin, found in a transaction of its own: the quarantine's service opens its own
    transactions (a retry runs batches, each committed)."""
    if not principal.is_admin:
        raise Forbidden("admin role required")
    return principal


Admin = Annotated[Principal, Depends(_admin)]


@router.get("")
async def list_quarantine(
    _: Admin,
    state: State,
    source: Annotated[str | None, Query(max_length=32)] = None,
    reason: Annotated[str | None, Query(max_length=64)] = None,
    include_resolved: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[int | None, Query(ge=0, description="from next_after")] = None,
) -> QuarantinePage:
    """Quarantined records, oldest first: unresolved ones unless `include_resolved`."""
    rows = await quarantine.list_rows(
        state.sessions,
        source=source,
        reason=reason,
        include_resolved=include_resolved,
        limit=limit,
        after_id=after,
    )
    items = [QuarantineOut.model_validate(quarantine.as_dict(r)) for r in rows]
    return QuarantinePage(items=items, next_after=items[-1].id if len(items) == limit else None)


@router.post("/retry")
async def retry(body: RetryIn, _: Admin, state: State) -> RetryOut:
    """Run unresolved records (one by `id`, a `source`'s, or all) through normalize → store
    again, after a fix: each one that now passes is stored and resolved; the others keep
    their rows with one more attempt and the new reasons. 404 for an `id` with no such
    unresolved row."""
    if body.id is not None:
        found = await quarantine.list_rows(
            state.sessions, source=body.source, limit=1, after_id=body.id - 1
        )
        if not found or found[0].id != body.id:
            raise NotFound("no unresolved quarantined record with that id")
    pipeline = Pipeline.from_settings(state.settings, state.cipher)
    result = await quarantine.retry(
        state.sessions, pipeline, now=state.clock.now(), source=body.source, row_id=body.id
    )
    return RetryOut.model_validate(result.as_dict())


@runs_router.get("")
async def list_runs(
    _: CurrentAdmin,
    session: DbSession,
    source: Annotated[str | None, Query(max_length=32)] = None,
    outcome: RunOutcome | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="from next_before")] = None,
) -> IngestionRunPage:
    """Ingestion runs, newest first, of one `source` or `outcome` when given. A run still
    `running` is in progress or was killed: see `progress_at`, `host` and `pid`."""
    rows, next_before = await runs.list_runs(
        session, source=source, outcome=outcome, limit=limit, before=before
    )
    items = [IngestionRunOut.model_validate(runs.as_dict(r)) for r in rows]
    return IngestionRunPage(items=items, next_before=next_before)


@runs_router.get("/{run_id}")
async def get_run(
    run_id: Annotated[int, Path(ge=1, le=MAX_ID)], _: CurrentAdmin, session: DbSession
) -> IngestionRunOut:
    """One ingestion run; 404 when there is none with that id."""
    run = await runs.get(session, run_id)
    if run is None:
        raise NotFound("no ingestion run with that id")
    return IngestionRunOut.model_validate(runs.as_dict(run))
