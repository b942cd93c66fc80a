from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from aiqleads.deps import CurrentPrincipal, DbSession, State
from aiqleads.errors import InvalidInput
from aiqleads.kit.clock import as_utc
from aiqleads.kit.places import display_city
from aiqleads.leads import service
from aiqleads.leads.query import BBox, CatalogQuery, SortKey
from aiqleads.leads.schemas import LeadFull, LeadPage, LeadPreview
from aiqleads.models.enums import LeadKind, LeadStatus

router = APIRouter(prefix="/api/v1/leads", tags=["leads"])

_MAX_DOLLARS = 1_000_000_000
_MAX_ZIPS = 100


@router.get("")
async def list_leads(
    principal: CurrentPrincipal,
    session: DbSession,
    state: State,
    bbox: Annotated[
        str | None, Query(description="min_lon,min_lat,max_lon,max_lat", max_length=100)
    ] = None,
    zip: Annotated[list[str] | None, Query(description="repeatable 5-digit ZIP")] = None,
    city: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    kind: Annotated[list[LeadKind] | None, Query()] = None,
    status: Annotated[list[LeadStatus] | None, Query()] = None,
    price_min: Annotated[int | None, Query(ge=0, le=_MAX_DOLLARS, description="USD")] = None,
    price_max: Annotated[int | None, Query(ge=0, le=_MAX_DOLLARS, description="USD")] = None,
    beds_min: Annotated[int | None, Query(ge=0, le=50)] = None,
    baths_min: Annotated[float | None, Query(ge=0, le=50)] = None,
    listed_since: Annotated[datetime | None, Query()] = None,
    sort: SortKey = SortKey.NEWEST,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> LeadPage:
    """Search the catalog. Agents get previews (bought leads in full); admins get full records."""
    settings = state.settings
    if zip and len(zip) > _MAX_ZIPS:
        raise InvalidInput("zip", f"at most {_MAX_ZIPS} values")
    if limit is not None and limit > settings.catalog_page_max:
        raise InvalidInput("limit", f"must be at most {settings.catalog_page_max}")
    query = CatalogQuery(
        bbox=BBox.parse(bbox) if bbox else None,
        zips=tuple(zip or ()),
        city=display_city(city),
        kinds=tuple(kind or ()),
        statuses=tuple(status or ()),
        price_min_cents=None if price_min is None else price_min * 100,
        price_max_cents=None if price_max is None else price_max * 100,
        beds_min=beds_min,
        baths_min=baths_min,
        listed_since=None if listed_since is None else as_utc(listed_since),
        sort=sort,
        limit=min(limit or settings.catalog_page_default, settings.catalog_page_max),
    )
    return await service.search_catalog(
        session,
        principal,
        query=query,
        cursor=cursor,
        settings=settings,
        cipher=state.cipher,
        now=state.clock.now(),
    )


@router.get("/{lead_id}")
async def get_lead(
    lead_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, state: State
) -> LeadPreview | LeadFull:
    return await service.get_lead(
        session,
        principal,
        public_id=lead_id,
        settings=state.settings,
        cipher=state.cipher,
        now=state.clock.now(),
    )
