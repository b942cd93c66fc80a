"""Operator endpoints for source monitoring: each source's profile against its baseline, the
report of `aiqleads sources report`, through the same service."""

from __future__ import annotations

from fastapi import APIRouter

from aiqleads.deps import CurrentAdmin, DbSession, State
from aiqleads.routing import SessionRoute
from aiqleads.sources import service
from aiqleads.sources.profile import SourceReport
from aiqleads.sources.schemas import SourceReportOut

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/admin/sources", tags=["admin"])


def _out(reports: list[SourceReport]) -> list[SourceReportOut]:
    return [SourceReportOut.model_validate(r.as_dict()) for r in reports]


@router.get("")
async def list_reports(_: CurrentAdmin, session: DbSession, state: State) -> list[SourceReportOut]:
    """Each source's last stored profile (the periodic `sources.profile` task makes one every
    AIQ_SOURCES__PROFILE_SECONDS; so do `aiqleads sources report` and the POST below) against
    its baseline, in the shape of `aiqleads sources report --json`: what the AIQSourceDrift
    alert sees. Reading changes nothing; `latest.computed_at` says how old each profile is."""
    return _out(await service.stored_reports(session, state.settings.sources))


@router.post("/profile")
async def profile_now(_: CurrentAdmin, session: DbSession, state: State) -> list[SourceReportOut]:
    """Profile every active source now and store the profiles, as `aiqleads sources report`
    does (a source without a baseline gets its first sufficient profile as one); answer each
    against its baseline."""
    return _out(
        await service.refresh(session, now=state.clock.now(), settings=state.settings.sources)
    )
