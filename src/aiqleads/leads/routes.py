from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from aiqleads.deps import (
    CurrentAdmin,
    CurrentViewer,
    DbSession,
    State,
    app_state,
    generic_plans,
    reads_only,
)
from aiqleads.errors import InvalidInput
from aiqleads.kit.query_model import from_query
from aiqleads.kit.responses import JSONBytes
from aiqleads.leads import service
from aiqleads.leads.query import CatalogQuery
from aiqleads.leads.schemas import CatalogParams, LeadFull, LeadPage, LeadPreview
from aiqleads.routing import SessionRoute

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/leads", tags=["leads"])


# The hot routes answer with the bytes their service encoded once: FastAPI does not validate
# and serialise a returned Response again; `response_model` keeps the documented schema.
@router.get("", response_model=LeadPage, response_class=JSONBytes)
@reads_only
async def list_leads(
    viewer: CurrentViewer,
    session: DbSession,
    request: Request,  # not `State`: each dependency costs every request (`deps.app_state`)
    # Last: read once the caller is signed in and counted, as FastAPI's query models are.
    q: Annotated[CatalogParams, from_query(CatalogParams)],
) -> Response:
    """Search the catalog. Agents get previews (their bought leads in full); admins get full
    records. `sort`: published_at, asking_price, price or score, '-' first for descending
    (agents' score order is by bucket)."""
    state = app_state(request)
    settings = state.settings
    if q.limit is not None and q.limit > settings.catalog_page_max:
        raise InvalidInput("limit", f"must be at most {settings.catalog_page_max}")
    query = CatalogQuery(
        filter=q.to_filter(), sort=q.sort, limit=q.limit or settings.catalog_page_default
    )
    body = await service.catalog_page_json(
        session,
        viewer,
        query=query,
        cursor=q.cursor,
        secret=settings.secret_key,
        cipher=state.cipher,
        cache=state.catalog_pages,
    )
    return JSONBytes(body)


@router.get("/{lead_id}", response_model=LeadPreview | LeadFull, response_class=JSONBytes)
@reads_only
@generic_plans  # the lead by its public id
async def get_lead(
    lead_id: uuid.UUID,
    viewer: CurrentViewer,
    session: DbSession,
    request: Request,
) -> Response:
    """One lead: its preview, or the full record for its buyer and admins. An agent's opening
    of a preview is recorded in the event log (a view)."""
    state = app_state(request)
    item = await service.get_lead(
        session,
        viewer,
        public_id=lead_id,
        cipher=state.cipher,
        views=state.views,
        rows=state.rows_by_key.alongside(session),
    )
    return JSONBytes(item.__pydantic_serializer__.to_json(item))


@router.post("/{lead_id}/release")
async def release_withheld(
    lead_id: uuid.UUID, _: CurrentAdmin, viewer: CurrentViewer, session: DbSession, state: State
) -> LeadFull:
    """Admins: put a lead that scam screening withheld back on the market (status withheld →
    available). Its signals stay on record and screening will not withhold it again. 404 for
    an unknown lead, 409 `not_withheld` for a lead that is not withheld."""
    return await service.release_withheld(session, viewer, public_id=lead_id, cipher=state.cipher)
