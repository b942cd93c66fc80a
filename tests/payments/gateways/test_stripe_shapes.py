"""Stripe's objects read into the neutral types (shared by the Stripe gateway and the sandbox)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aiqleads.payments.gateways import EventType, PaymentStatus, RefundStatus
from aiqleads.payments.gateways.stripe_shapes import (
    ShapeError,
    event_from_payload,
    payment_from_intent,
    refund_from_object,
)


def _intent(**changes: Any) -> dict[str, Any]:
    intent: dict[str, Any] = {
        "id": "pi_1",
        "object": "payment_intent",
        "amount": 1999,
        "currency": "usd",
        "status": "succeeded",
        "client_secret": "pi_1_secret_x",
        "metadata": {"order_id": "7"},
        "last_payment_error": None,
        "next_action": None,
    }
    intent.update(changes)
    return intent


def _event(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "evt_1",
        "object": "event",
        "type": event_type,
        "created": 1780315200,
        "data": {"object": obj},
    }


@pytest.mark.parametrize(
    ("stripe_status", "ours"),
    [
        ("succeeded", PaymentStatus.SUCCEEDED),
        ("processing", PaymentStatus.PROCESSING),
        ("requires_action", PaymentStatus.REQUIRES_ACTION),
        ("requires_payment_method", PaymentStatus.DECLINED),
        ("canceled", PaymentStatus.DECLINED),
        ("requires_capture", PaymentStatus.PROCESSING),
        ("requires_confirmation", PaymentStatus.PROCESSING),
    ],
)
def test_every_intent_status_has_one_meaning(stripe_status: str, ours: PaymentStatus) -> None:
    assert payment_from_intent(_intent(status=stripe_status)).status is ours


def test_an_intent_reads_whole() -> None:
    result = payment_from_intent(_intent())
    assert (result.reference, result.amount_cents, result.currency) == ("pi_1", 1999, "USD")
    assert result.metadata == {"order_id": "7"}
    assert result.client_secret == "pi_1_secret_x"


def test_a_declined_intent_carries_its_code_and_a_redirect_its_url() -> None:
    error = {"code": "expired_card", "message": "Your card has expired."}
    declined = payment_from_intent(
        _intent(status="requires_payment_method", last_payment_error=error)
    )
    assert (declined.decline_code, declined.decline_message) == (
        "expired_card",
        "Your card has expired.",
    )
    assert payment_from_intent(_intent(status="canceled")).decline_code == "canceled"
    action = {"type": "redirect_to_url", "redirect_to_url": {"url": "https://bank.example/3ds"}}
    waiting = payment_from_intent(_intent(status="requires_action", next_action=action))
    assert (waiting.next_action, waiting.redirect_url) == (
        "redirect_to_url",
        "https://bank.example/3ds",
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "teleported"},
        {"amount": "1999"},
        {"amount": True},
        {"currency": "dollars"},
        {"id": None},
        {"metadata": "order 7"},
    ],
)
def test_a_malformed_intent_is_a_shape_error(changes: dict[str, Any]) -> None:
    with pytest.raises(ShapeError):
        payment_from_intent(_intent(**changes))


def test_a_refund_reads_whole_and_its_statuses_map() -> None:
    refund = {
        "id": "re_1",
        "object": "refund",
        "amount": 500,
        "currency": "usd",
        "payment_intent": {"id": "pi_1"},  # expanded
        "status": "pending",
    }
    result = refund_from_object(refund)
    assert (result.reference, result.payment_reference) == ("re_1", "pi_1")
    assert (result.status, result.amount_cents, result.currency) == (
        RefundStatus.PENDING,
        500,
        "USD",
    )
    with pytest.raises(ShapeError, match="payment_intent"):
        refund_from_object(dict(refund, payment_intent=None))


def test_payment_events() -> None:
    ok = event_from_payload(_event("payment_intent.succeeded", _intent()))
    assert ok.type is EventType.PAYMENT_SUCCEEDED
    assert ok.created == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert (ok.payment_reference, ok.amount_cents, ok.currency) == ("pi_1", 1999, "USD")
    canceled = event_from_payload(_event("payment_intent.canceled", _intent(status="canceled")))
    assert canceled.type is EventType.PAYMENT_FAILED


@pytest.mark.parametrize(
    ("event_type", "status", "ours"),
    [
        ("refund.created", "succeeded", EventType.REFUND_SUCCEEDED),
        ("refund.updated", "succeeded", EventType.REFUND_SUCCEEDED),
        ("refund.updated", "failed", EventType.REFUND_FAILED),
        ("refund.failed", "failed", EventType.REFUND_FAILED),
        ("refund.created", "pending", EventType.OTHER),
    ],
)
def test_refund_events(event_type: str, status: str, ours: EventType) -> None:
    refund = {
        "id": "re_1",
        "amount": 500,
        "currency": "usd",
        "payment_intent": "pi_1",
        "status": status,
    }
    event = event_from_payload(_event(event_type, refund))
    assert event.type is ours
    if ours is not EventType.OTHER:
        assert (event.refund_reference, event.payment_reference) == ("re_1", "pi_1")


def test_other_events_carry_no_payment() -> None:
    event = event_from_payload(_event("customer.created", {"id": "cus_1"}))
    assert event.type is EventType.OTHER
    assert event.provider_type == "customer.created"
    assert event.payment_reference is None


@pytest.mark.parametrize(
    "body",
    [
        {"object": "event", "type": "payment_intent.succeeded", "created": 1},
        {"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "created": 1},
        {"id": "evt_1", "object": "charge"},
        {"id": "evt_1", "object": "event", "type": "x", "created": "yesterday"},
    ],
)
def test_malformed_events_are_shape_errors(body: dict[str, Any]) -> None:
    with pytest.raises(ShapeError):
        event_from_payload(body)
