"""Incoming gateway webhooks: verify, store once, apply once.

A delivery is verified with the gateway's signature (a forgery is refused before anything is
stored), stored under its event id (a repeated delivery is recognised), then applied through
the checkout flow, which changes an order at most once whatever order events arrive in.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping

from aiqleads.checkout import flow
from aiqleads.checkout import repository as orders
from aiqleads.db.engine import transaction
from aiqleads.errors import AppError, ErrorCode
from aiqleads.payments import events_repository
from aiqleads.payments.gateways import (
    EventType,
    GatewayEvent,
    InvalidWebhook,
    PaymentResult,
    PaymentStatus,
    RefundStatus,
)


async def receive(
    co: flow.Checkout, payload: bytes, headers: Mapping[str, str]
) -> dict[str, object]:
    """Handle one delivery; the answer says whether it was new. Raises AppError 400 for a
    delivery whose signature does not verify or that is not an event."""
    try:
        event = co.gateway.verify_webhook(payload, headers)
    except InvalidWebhook as exc:
        raise AppError(f"webhook refused: {exc}", status=400, code=ErrorCode.VALIDATION) from exc
    now = co.clock.now()
    async with transaction(co.sessions) as session:
        row, processed = await events_repository.store(
            session,
            gateway=co.gateway.name,
            event_id=event.event_id,
            type_=event.provider_type,
            payment_reference=event.payment_reference,
            data=_stored(event),
            now=now,
        )
    if processed:
        return {"received": True, "duplicate": True}
    await _apply(co, event)
    async with transaction(co.sessions) as session:
        await events_repository.mark_processed(session, row, now=co.clock.now())
    return {"received": True, "duplicate": False}


def _stored(event: GatewayEvent) -> dict[str, object]:
    data = dataclasses.asdict(event)
    data["created"] = event.created.isoformat()
    data["metadata"] = dict(event.metadata)
    return data


async def _apply(co: flow.Checkout, event: GatewayEvent) -> None:
    if event.type in (EventType.PAYMENT_SUCCEEDED, EventType.PAYMENT_FAILED):
        order_id = await _order_of(co, event)
        if order_id is None or event.payment_reference is None:
            return  # a payment that is not one of our orders: nothing to do
        status = (
            PaymentStatus.SUCCEEDED
            if event.type is EventType.PAYMENT_SUCCEEDED
            else PaymentStatus.DECLINED
        )
        result = PaymentResult(
            reference=event.payment_reference,
            status=status,
            amount_cents=event.amount_cents or 0,
            currency=event.currency or "USD",
            decline_code=event.decline_code,
        )
        await flow.apply(co, order_id, result)
    elif (
        event.type in (EventType.REFUND_SUCCEEDED, EventType.REFUND_FAILED)
        and event.refund_reference is not None
    ):
        settled = (
            RefundStatus.SUCCEEDED
            if event.type is EventType.REFUND_SUCCEEDED
            else RefundStatus.FAILED
        )
        await flow.refund_settled(co, event.refund_reference, settled)


async def _order_of(co: flow.Checkout, event: GatewayEvent) -> int | None:
    """The order a payment event is about: by its payment reference, else by the order id the
    payment carries in its metadata (an order whose checkout died before it recorded the
    reference)."""
    async with co.sessions() as session:
        if event.payment_reference is not None:
            found = await orders.by_reference(session, co.gateway.name, event.payment_reference)
            if found is not None:
                return int(found.id)
        raw = event.metadata.get("order")
        if raw is None:
            return None
        try:
            public = uuid.UUID(raw)
        except ValueError:
            return None
        order = await orders.by_public_id(session, public)
        return None if order is None else int(order.id)
