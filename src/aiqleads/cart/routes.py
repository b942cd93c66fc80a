"""The cart: hold leads (one or in bulk), extend and release holds, see the cart."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from aiqleads.cart import service
from aiqleads.cart.schemas import Cart, HoldAnswer, HoldRequest, HoldResult
from aiqleads.deps import (
    CurrentPrincipal,
    CurrentViewer,
    DbSession,
    State,
    app_state,
    generic_plans,
    reads_only,
)
from aiqleads.routing import SessionRoute

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/cart", tags=["cart"])


@router.post("/holds")
@generic_plans  # leads, holds and the cart lock by key
async def hold(
    body: HoldRequest,
    principal: CurrentPrincipal,
    viewer: CurrentViewer,
    session: DbSession,
    state: State,
) -> HoldAnswer:
    """Hold leads for your tier's hold duration at the price shown now, fixed until checkout.
    Each lead is held, or refused with a code: held_by_other, sold, not_visible_yet,
    cart_limit_reached, bulk_limit_exceeded (beyond the tier's bulk size), not_found, or
    not_all_held (`all_or_nothing` and another lead was refused). When the cart has fewer
    places left than leads asked, those listed first get them."""
    return await service.hold(
        session,
        viewer,
        policy=await state.tiers.of(session, principal.tier),
        custom_limit=principal.custom_cart_limit,
        lead_ids=body.lead_ids,
        all_or_nothing=body.all_or_nothing,
        notices=state.notices,
    )


@router.delete("/holds/{lead_id}", status_code=204)
@generic_plans  # leads, holds and the cart lock by key
async def release(
    lead_id: uuid.UUID, viewer: CurrentViewer, session: DbSession, state: State
) -> Response:
    """Give a held lead back to the market."""
    await service.release(session, viewer, lead_id=lead_id, notices=state.notices)
    return Response(status_code=204)


@router.post("/holds/{lead_id}/extend")
@generic_plans  # leads, holds and the cart lock by key
async def extend(
    lead_id: uuid.UUID,
    principal: CurrentPrincipal,
    viewer: CurrentViewer,
    session: DbSession,
    state: State,
) -> HoldResult:
    """Extend a hold by your tier's hold duration, while extensions are left (409 when not)."""
    policy = await state.tiers.of(session, principal.tier)
    return await service.extend(session, viewer, policy=policy, lead_id=lead_id)


@router.get("")
@reads_only
@generic_plans  # the account's holds
async def cart(
    principal: CurrentPrincipal,
    viewer: CurrentViewer,
    session: DbSession,
    request: Request,  # not `State`: each dependency costs every request (`deps.app_state`)
) -> Cart:
    """Your live holds: each lead's preview, the price fixed, `held_until`, extensions left."""
    state = app_state(request)
    return await service.cart(
        state.rows_by_key.alongside(session),
        viewer,
        policy=await state.tiers.of(session, principal.tier),
        custom_limit=principal.custom_cart_limit,
    )
