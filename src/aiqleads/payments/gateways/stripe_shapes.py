"""Stripe's JSON shapes (PaymentIntent, Refund, Event) read into the neutral types.

Plain dicts in, `base` types out; no `stripe` import, so the sandbox, which speaks the same
shapes in its webhooks, shares the reading. Shapes: the Stripe API reference, objects
"The PaymentIntent object", "The Refund object" and "The Event object".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiqleads.payments.gateways.base import (
    EventType,
    GatewayEvent,
    PaymentResult,
    PaymentStatus,
    RefundResult,
    RefundStatus,
)


class ShapeError(ValueError):
    """A provider answer or event that lacks what the shape promises."""


# PaymentIntent.status → ours. `requires_payment_method` after a confirmation is a decline (the
# intent keeps `last_payment_error`); `requires_capture` is an authorised payment we never ask
# for (automatic capture), and `requires_confirmation` is never left by a create with
# confirm=true: both count as not final rather than as a success or a decline.
_INTENT_STATUS = {
    "succeeded": PaymentStatus.SUCCEEDED,
    "processing": PaymentStatus.PROCESSING,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "requires_payment_method": PaymentStatus.DECLINED,
    "canceled": PaymentStatus.DECLINED,
    "requires_capture": PaymentStatus.PROCESSING,
    "requires_confirmation": PaymentStatus.PROCESSING,
}
_REFUND_STATUS = {
    "succeeded": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}
_PAYMENT_EVENTS = {
    "payment_intent.succeeded": EventType.PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": EventType.PAYMENT_FAILED,
    "payment_intent.canceled": EventType.PAYMENT_FAILED,
}
_REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed")


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ShapeError(f"{key!r} is missing or not a string")
    return value


def _optional_str(obj: Mapping[str, Any] | None, key: str) -> str | None:
    if obj is None:
        return None
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShapeError(f"{key!r} is missing or not an integer")
    return value


def _mapping(obj: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ShapeError(f"{key!r} is not an object")
    return value


def _currency(obj: Mapping[str, Any]) -> str:
    value = _str(obj, "currency")
    if len(value) != 3 or not value.isascii() or not value.isalpha():
        raise ShapeError(f"currency {value!r} is not an ISO 4217 code")
    return value.upper()  # Stripe writes currencies in lower case


def _metadata(obj: Mapping[str, Any]) -> dict[str, str]:
    value = _mapping(obj, "metadata") or {}
    return {str(k): str(v) for k, v in value.items()}


def _id_of(value: Any) -> str | None:
    """An expandable field: an id, or the expanded object carrying it."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        return _optional_str(value, "id")
    return None


def payment_from_intent(intent: Mapping[str, Any]) -> PaymentResult:
    """A PaymentIntent object → PaymentResult. Raises ShapeError."""
    raw_status = _str(intent, "status")
    status = _INTENT_STATUS.get(raw_status)
    if status is None:
        raise ShapeError(f"unknown PaymentIntent status {raw_status!r}")
    error = _mapping(intent, "last_payment_error")
    decline_code = decline_message = None
    if status is PaymentStatus.DECLINED:
        decline_code = _optional_str(error, "code") or (
            "canceled" if raw_status == "canceled" else "payment_method_required"
        )
        decline_message = _optional_str(error, "message")
    next_action = redirect_url = None
    if status is PaymentStatus.REQUIRES_ACTION:
        action = _mapping(intent, "next_action")
        next_action = _optional_str(action, "type")
        if action is not None:
            redirect = action.get("redirect_to_url")
            redirect_url = _optional_str(redirect, "url") if isinstance(redirect, Mapping) else None
    return PaymentResult(
        reference=_str(intent, "id"),
        status=status,
        amount_cents=_int(intent, "amount"),
        currency=_currency(intent),
        decline_code=decline_code,
        decline_message=decline_message,
        client_secret=_optional_str(intent, "client_secret"),
        next_action=next_action,
        redirect_url=redirect_url,
        metadata=_metadata(intent),
    )


def refund_from_object(refund: Mapping[str, Any]) -> RefundResult:
    """A Refund object → RefundResult. Raises ShapeError."""
    raw_status = _str(refund, "status")
    status = _REFUND_STATUS.get(raw_status)
    if status is None:
        raise ShapeError(f"unknown Refund status {raw_status!r}")
    payment = _id_of(refund.get("payment_intent"))
    if payment is None:
        raise ShapeError("refund names no payment_intent")
    return RefundResult(
        reference=_str(refund, "id"),
        payment_reference=payment,
        status=status,
        amount_cents=_int(refund, "amount"),
        currency=_currency(refund),
        failure_reason=_optional_str(refund, "failure_reason"),
    )


def event_from_payload(event: Mapping[str, Any]) -> GatewayEvent:
    """An Event object (a webhook's body, parsed) → GatewayEvent. Raises ShapeError.

    Payment events carry a PaymentIntent, refund events a Refund; `refund.created` and
    `refund.updated` become refund_succeeded or refund_failed by the refund's status (a pending
    refund's event is `other`). Any other type is `other`, with no payment fields.
    """
    if event.get("object", "event") != "event":
        raise ShapeError("not an event object")
    event_id = _str(event, "id")
    provider_type = _str(event, "type")
    created = datetime.fromtimestamp(_int(event, "created"), tz=UTC)
    data = _mapping(event, "data")
    obj = _mapping(data, "object") if data is not None else None

    if provider_type in _PAYMENT_EVENTS:
        if obj is None:
            raise ShapeError(f"{provider_type} event without its PaymentIntent")
        error = _mapping(obj, "last_payment_error")
        kind = _PAYMENT_EVENTS[provider_type]
        return GatewayEvent(
            event_id=event_id,
            type=kind,
            provider_type=provider_type,
            created=created,
            payment_reference=_str(obj, "id"),
            amount_cents=_int(obj, "amount"),
            currency=_currency(obj),
            decline_code=_optional_str(error, "code") if kind is EventType.PAYMENT_FAILED else None,
            metadata=_metadata(obj),
        )
    if provider_type in _REFUND_EVENTS:
        if obj is None:
            raise ShapeError(f"{provider_type} event without its Refund")
        refund = refund_from_object(obj)
        kind = {
            RefundStatus.SUCCEEDED: EventType.REFUND_SUCCEEDED,
            RefundStatus.FAILED: EventType.REFUND_FAILED,
            RefundStatus.PENDING: EventType.OTHER,
        }[refund.status]
        if provider_type == "refund.failed":
            kind = EventType.REFUND_FAILED
        if kind is not EventType.OTHER:
            return GatewayEvent(
                event_id=event_id,
                type=kind,
                provider_type=provider_type,
                created=created,
                payment_reference=refund.payment_reference,
                refund_reference=refund.reference,
                amount_cents=refund.amount_cents,
                currency=refund.currency,
                metadata=_metadata(obj),
            )
    return GatewayEvent(
        event_id=event_id, type=EventType.OTHER, provider_type=provider_type, created=created
    )
