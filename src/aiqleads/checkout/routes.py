"""Checkout and orders: pay for the cart's holds; see your orders."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from aiqleads.checkout import flow, repository
from aiqleads.checkout.schemas import CheckoutRequest, OrderOut
from aiqleads.deps import CurrentPrincipal, DbSession, PrincipalApart, State
from aiqleads.errors import AppError, ErrorCode, NotFound
from aiqleads.models.enums import OrderStatus
from aiqleads.routing import SessionRoute

router = APIRouter(route_class=SessionRoute, prefix="/api/v1", tags=["checkout"])


def checkout_of(state: State) -> flow.Checkout:
    """The checkout flow for a request (a checkout, a payment webhook, a refund approval)."""
    # Every statement of the flow finds its rows by key (the cart, the order, its leads): the
    # pool whose connections keep generic plans (`deps.generic_plans`).
    return flow.Checkout(sessions=state.generic_sessions, gateway=state.gateway, clock=state.clock)


@router.post("/checkout")
async def checkout(
    principal: PrincipalApart,
    state: State,
    response: Response,
    body: CheckoutRequest | None = None,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=200, description="one per checkout attempt")
    ] = None,
) -> OrderOut:
    """Turn the cart's holds into an order and pay it. Send an `Idempotency-Key` (one is made
    when absent, and given back in the header of the same name): the same key sent again is
    the same order, charged once. 200 paid; 202 the buyer must act (`client_secret`,
    `next_action`); 402 declined (the holds stay until they lapse); 503 the gateway did not
    answer (retry with the same key); 409 an empty cart or a key reused for another cart."""
    key = idempotency_key or str(uuid.uuid4())
    response.headers["Idempotency-Key"] = key
    co = checkout_of(state)
    token = body.payment_token if body else None
    order = await flow.open_order(
        co, account_id=principal.account_id, idempotency_key=key, payment_token=token
    )
    await flow.pay(co, order)
    out = await flow.present(co, order.id)
    if out.status is OrderStatus.FAILED:
        raise AppError(
            "the payment was declined",
            status=402,
            code=ErrorCode.PAYMENT_DECLINED,
            detail={"order_id": str(out.id), "decline_code": out.decline_code},
            headers={"Idempotency-Key": key},
        )
    if out.status is not OrderStatus.PAID:
        response.status_code = 202
    return out


@router.get("/orders")
async def orders(
    principal: CurrentPrincipal,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[OrderOut]:
    """Your orders, newest first."""
    rows = await repository.of_account(session, principal.account_id, limit=limit)
    return [await flow.order_out(session, r) for r in rows]


@router.get("/orders/{order_id}")
async def order(order_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> OrderOut:
    """One of your orders (another account's is not found)."""
    row = await repository.by_public_id(session, order_id)
    if row is None or (row.account_id != principal.account_id and not principal.is_admin):
        raise NotFound("no such order")
    return await flow.order_out(session, row)
