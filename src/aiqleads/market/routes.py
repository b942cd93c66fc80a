"""Market context routes: the operator's view of any region, an agent's view of a ZIP."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from aiqleads.deps import CurrentAdmin, CurrentViewer, DbSession, State
from aiqleads.kit.iso import IsoDate
from aiqleads.market import service
from aiqleads.market.schemas import PointOut, RegionMarketOut, ZipMarketOut
from aiqleads.routing import SessionRoute

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/market", tags=["market"])
admin_router = APIRouter(route_class=SessionRoute, prefix="/api/v1/admin/market", tags=["admin"])

RegionKind = Literal["zip", "metro", "county", "city", "national"]
Zip = Annotated[str, Path(pattern=r"^\d{5}$", description="a 5-digit ZIP code")]
Month = Annotated[
    IsoDate | None,
    Query(description="any day of the month (YYYY-MM-DD); default: the current month"),
]


@admin_router.get("/{region_kind}/{region}")
async def region_market(
    region_kind: RegionKind,
    region: Annotated[str, Path(min_length=1, max_length=120)],
    _: CurrentAdmin,
    session: DbSession,
    state: State,
    month: Month = None,
) -> RegionMarketOut:
    """Every stored series of the region (Zillow, Redfin, and the leads' own after `aiqleads
    market compute`) up to `month`, and its market context (`market.indicators`). Admins only."""
    now = state.clock.now()
    found = await service.region_market(
        session, region_kind=region_kind, region=region, month=month or now.date(), now=now
    )
    return RegionMarketOut(
        region_kind=found.region_kind,
        region=found.region,
        month=found.month,
        context=found.context,
        series=[PointOut.of(p) for p in found.points],
    )


@router.get("/zips/{zip_code}")
async def zip_market(
    zip_code: Zip, viewer: CurrentViewer, session: DbSession, state: State, month: Month = None
) -> ZipMarketOut:
    """A ZIP's market for an agent: published series, and values computed from the ZIP's leads
    only when they cover at least `min_leads` leads (the disclosure rule, DESIGN.md
    section 2)."""
    found = await service.zip_market(
        session,
        viewer,
        zip_code=zip_code,
        month=month or viewer.now.date(),
        min_leads=state.settings.disclosure_min_leads,
    )
    return ZipMarketOut(
        zip=found.zip_code,
        metro=found.metro,
        month=found.month,
        min_leads=found.min_leads,
        covered=found.covered,
        context=found.context,
        series=[PointOut.of(p) for p in found.external],
        lead_series=[PointOut.of(p) for p in found.lead_series],
    )
