"""Checkout and orders: pay for the cart's holds; see your orders."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from aiqleads.checkout import flow, repository
from aiqleads.checkout.schemas import CheckoutRequest, OrderOut
from aiqleads.deps import CurrentPrincipal, DbSession, PrincipalApart, State
from aiqleads.errors import AppError, ErrorCode, InvalidInput, NotFound
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
    """Turn the cart's holds into an order and pay it. The same `Idempotency-Key` sent again
    is the same order, charged once. Without one, the key is made from the cart's holds and
    the payment token (given back in the `Idempotency-Key` header): a retry of the same cart
    with the same token is the same order too, and so is an order of the held leads still
    waiting for its payment; to try the same token again after a decline, send a new key.
    200 paid; 202 the buyer must act (`client_secret`, `next_action`); 402 declined (the
    holds stay until they lapse); 422 the gateway refused the payment token (the order fails,
    the holds stay); 503 the gateway did not answer (retry with the same key); 409 an empty
    cart, a key reused for another cart or with another token, or (without a key) an order of
    these leads still waiting, paid with another token."""
    co = checkout_of(state)
    token = body.payment_token if body else None
    order = await flow.open_order(
        co, account_id=principal.account_id, idempotency_key=idempotency_key, payment_token=token
    )
    key = order.idempotency_key
    response.headers["Idempotency-Key"] = key
    result = await flow.pay(co, order)
    out = await flow.present(co, order.id)
    if out.status is OrderStatus.REQUIRES_ACTION and result is not None:
        # What the gateway's client library needs to let the buyer act (3-D Secure): not
        # stored, so asked again when the same key is sent again.
        out.client_secret, out.next_action = result.client_secret, result.next_action
    if out.status is OrderStatus.FAILED and out.decline_code == flow.TOKEN_REFUSED:
        # The same answer as when it was refused (the gateway's own reason is not kept).
        raise InvalidInput(
            "payment_token",
            "the payment gateway refused this payment token",
            headers={"Idempotency-Key": key},
        )
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
