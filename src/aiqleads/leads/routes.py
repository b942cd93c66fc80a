from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from aiqleads.deps import CurrentAdmin, CurrentViewer, DbSession, State
from aiqleads.errors import InvalidInput
from aiqleads.leads import service
from aiqleads.leads.query import CatalogQuery
from aiqleads.leads.schemas import CatalogParams, LeadFull, LeadPage, LeadPreview

router = APIRouter(prefix="/api/v1/leads", tags=["leads"])


@router.get("")
async def list_leads(
    q: Annotated[CatalogParams, Query()], viewer: CurrentViewer, session: DbSession, state: State
) -> LeadPage:
    """Search the catalog. Agents get previews (their bought leads in full); admins get full
    records. `sort`: published_at, asking_price, price or score, '-' first for descending
    (agents' score order is by bucket)."""
    settings = state.settings
    if q.limit is not None and q.limit > settings.catalog_page_max:
        raise InvalidInput("limit", f"must be at most {settings.catalog_page_max}")
    query = CatalogQuery(
        filter=q.to_filter(), sort=q.sort, limit=q.limit or settings.catalog_page_default
    )
    return await service.search_catalog(
        session,
        viewer,
        query=query,
        cursor=q.cursor,
        secret=settings.secret_key,
        cipher=state.cipher,
    )


@router.get("/{lead_id}")
async def get_lead(
    lead_id: uuid.UUID, viewer: CurrentViewer, session: DbSession, state: State
) -> LeadPreview | LeadFull:
    """One lead: its preview, or the full record for its buyer and admins. An agent's opening
    of a preview is recorded in the event log (a view)."""
    return await service.get_lead(
        session, viewer, public_id=lead_id, cipher=state.cipher, views=state.views
    )


@router.post("/{lead_id}/release")
async def release_withheld(
    lead_id: uuid.UUID, _: CurrentAdmin, viewer: CurrentViewer, session: DbSession, state: State
) -> LeadFull:
    """Admins: put a lead that scam screening withheld back on the market (status withheld →
    available). Its signals stay on record and screening will not withhold it again. 404 for
    an unknown lead, 409 `not_withheld` for a lead that is not withheld."""
    return await service.release_withheld(session, viewer, public_id=lead_id, cipher=state.cipher)
