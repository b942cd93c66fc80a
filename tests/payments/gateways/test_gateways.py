"""The same scenarios against every gateway (the sandbox, and Stripe on a local fake)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from aiqleads.payments.gateways import (
    EventType,
    GatewayRejected,
    GatewayUnavailable,
    InvalidSignature,
    InvalidWebhook,
    PaymentResult,
    PaymentStatus,
    RefundStatus,
    RejectionCode,
    SignedWebhook,
)
from tests.payments.gateways.conftest import Harness


def _key() -> str:
    return f"checkout-{uuid.uuid4()}"


async def _pay(
    h: Harness, token: str, *, key: str | None = None, amount: int = 2500
) -> PaymentResult:
    return await h.gateway.create_payment(
        amount_cents=amount,
        currency="USD",
        idempotency_key=key or _key(),
        payment_token=token,
        description="2 leads",
        metadata={"order_id": "41"},
    )


# --- payments ---


async def test_success_charges_once_and_is_retrievable(harness: Harness) -> None:
    # When a buyer pays with a good card
    paid = await _pay(harness, harness.success)
    # Then the payment succeeded for the amount asked, and the provider says the same later
    assert paid.status is PaymentStatus.SUCCEEDED
    assert (paid.amount_cents, paid.currency) == (2500, "USD")
    assert paid.metadata == {"order_id": "41"}
    assert paid.decline_code is None
    assert await harness.gateway.retrieve_payment(paid.reference) == paid
    assert await harness.charges() == 1


async def test_decline_is_a_result_with_the_card_code(harness: Harness) -> None:
    # When the card is declined
    declined = await _pay(harness, harness.decline)
    # Then the answer is a declined result (not an error) with Stripe's code, and nothing charged
    assert declined.status is PaymentStatus.DECLINED
    assert declined.decline_code == "card_declined"
    assert declined.decline_message
    assert declined.reference
    again = await harness.gateway.retrieve_payment(declined.reference)
    assert (again.status, again.decline_code) == (PaymentStatus.DECLINED, "card_declined")
    assert await harness.charges() == 0


async def test_requires_action_then_the_buyer_completes_it(harness: Harness) -> None:
    # Given a card that needs 3-D Secure
    pending = await _pay(harness, harness.requires_action)
    assert pending.status is PaymentStatus.REQUIRES_ACTION
    assert pending.client_secret and pending.next_action
    assert not pending.status.is_final
    assert await harness.charges() == 0
    # When the buyer completes it
    await harness.complete_action(pending.reference, succeed=True)
    # Then the payment has succeeded
    done = await harness.gateway.retrieve_payment(pending.reference)
    assert done.status is PaymentStatus.SUCCEEDED
    assert await harness.charges() == 1


async def test_requires_action_failed_is_a_decline(harness: Harness) -> None:
    pending = await _pay(harness, harness.requires_action)
    await harness.complete_action(pending.reference, succeed=False)
    failed = await harness.gateway.retrieve_payment(pending.reference)
    assert failed.status is PaymentStatus.DECLINED
    assert failed.decline_code == "payment_intent_authentication_failure"


async def test_network_error_before_the_charge_then_a_retry_charges_once(
    harness: Harness,
) -> None:
    key = _key()
    # When the provider cannot be reached
    with pytest.raises(GatewayUnavailable):
        await _pay(harness, harness.fail_before(), key=key)
    # Then nothing was charged, and a retry with the same key pays once
    assert await harness.charges() == 0
    paid = await _pay(harness, harness.success, key=key)
    assert paid.status is PaymentStatus.SUCCEEDED
    assert await harness.charges() == 1


async def test_charged_but_the_answer_lost_a_retry_answers_the_same_payment(
    harness: Harness,
) -> None:
    key = _key()
    token = harness.fail_after()
    # When the charge is made but its answer never arrives
    with pytest.raises(GatewayUnavailable):
        await _pay(harness, token, key=key)
    assert await harness.charges() == 1
    # Then retrying with the same key and parameters answers that payment: charged once
    paid = await _pay(harness, token, key=key)
    assert paid.status is PaymentStatus.SUCCEEDED
    assert await harness.charges() == 1
    assert (await harness.gateway.retrieve_payment(paid.reference)).status is (
        PaymentStatus.SUCCEEDED
    )


async def test_idempotent_replay_answers_the_first_result(harness: Harness) -> None:
    key = _key()
    first = await _pay(harness, harness.success, key=key)
    second = await _pay(harness, harness.success, key=key)
    assert second.reference == first.reference
    assert second == first
    assert await harness.charges() == 1


async def test_replay_of_a_decline_answers_the_decline(harness: Harness) -> None:
    key = _key()
    first = await _pay(harness, harness.decline, key=key)
    second = await _pay(harness, harness.decline, key=key)
    assert (second.reference, second.status) == (first.reference, PaymentStatus.DECLINED)


async def test_same_key_with_other_parameters_is_refused(harness: Harness) -> None:
    key = _key()
    await _pay(harness, harness.success, key=key, amount=2500)
    # When the key is reused for another amount
    with pytest.raises(GatewayRejected) as caught:
        await _pay(harness, harness.success, key=key, amount=9900)
    # Then it is refused, and nothing more is charged
    assert caught.value.code is RejectionCode.IDEMPOTENCY_CONFLICT
    assert await harness.charges() == 1


async def test_retrieve_of_an_unknown_payment_is_not_found(harness: Harness) -> None:
    with pytest.raises(GatewayRejected) as caught:
        await harness.gateway.retrieve_payment("pi_doesnotexist")
    assert caught.value.code is RejectionCode.PAYMENT_NOT_FOUND


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount_cents": 0}, "positive"),
        ({"amount_cents": 25.0}, "must be an int"),
        ({"amount_cents": True}, "must be an int"),
        ({"currency": "usd"}, "ISO 4217"),
        ({"currency": "DOLLARS"}, "ISO 4217"),
        ({"idempotency_key": ""}, "non-empty"),
        ({"idempotency_key": "k" * 256}, "at most 255"),
        ({"metadata": {"order_id": 41}}, "metadata value"),
        ({"metadata": {"a[b]": "1"}}, "square brackets"),
    ],
)
async def test_malformed_requests_are_refused_before_any_call(
    harness: Harness, changes: dict[str, Any], reason: str
) -> None:
    request: dict[str, Any] = {
        "amount_cents": 2500,
        "currency": "USD",
        "idempotency_key": _key(),
        "payment_token": harness.success,
        "metadata": {},
    }
    request.update(changes)
    with pytest.raises(ValueError, match=reason):
        await harness.gateway.create_payment(**request)
    assert await harness.charges() == 0


# --- refunds ---


async def test_full_refund(harness: Harness) -> None:
    paid = await _pay(harness, harness.success)
    refund = await harness.gateway.refund(
        reference=paid.reference, amount_cents=2500, idempotency_key=_key(), reason="duplicate"
    )
    assert refund.status is RefundStatus.SUCCEEDED
    assert (refund.amount_cents, refund.currency) == (2500, "USD")
    assert refund.payment_reference == paid.reference
    assert refund.reference


async def test_partial_refunds_add_up_to_at_most_the_amount_paid(harness: Harness) -> None:
    paid = await _pay(harness, harness.success)
    await harness.gateway.refund(
        reference=paid.reference, amount_cents=1000, idempotency_key=_key()
    )
    await harness.gateway.refund(
        reference=paid.reference, amount_cents=1000, idempotency_key=_key()
    )
    # When more than what is left is asked back
    with pytest.raises(GatewayRejected) as caught:
        await harness.gateway.refund(
            reference=paid.reference, amount_cents=501, idempotency_key=_key()
        )
    assert caught.value.code is RejectionCode.REFUND_EXCEEDS_PAYMENT
    # Then exactly what is left can still be refunded, and after it nothing more
    last = await harness.gateway.refund(
        reference=paid.reference, amount_cents=500, idempotency_key=_key()
    )
    assert last.amount_cents == 500
    with pytest.raises(GatewayRejected) as again:
        await harness.gateway.refund(
            reference=paid.reference, amount_cents=1, idempotency_key=_key()
        )
    assert again.value.code is RejectionCode.REFUND_EXCEEDS_PAYMENT


async def test_refund_is_idempotent_by_key(harness: Harness) -> None:
    paid = await _pay(harness, harness.success)
    key = _key()
    first = await harness.gateway.refund(
        reference=paid.reference, amount_cents=2000, idempotency_key=key
    )
    second = await harness.gateway.refund(
        reference=paid.reference, amount_cents=2000, idempotency_key=key
    )
    assert second == first
    # Refunded once: 500 is still left
    await harness.gateway.refund(reference=paid.reference, amount_cents=500, idempotency_key=_key())
    with pytest.raises(GatewayRejected) as caught:
        await harness.gateway.refund(
            reference=paid.reference, amount_cents=1500, idempotency_key=key
        )
    assert caught.value.code is RejectionCode.IDEMPOTENCY_CONFLICT


async def test_refund_of_a_declined_or_unknown_payment_is_refused(harness: Harness) -> None:
    declined = await _pay(harness, harness.decline)
    with pytest.raises(GatewayRejected) as caught:
        await harness.gateway.refund(
            reference=declined.reference, amount_cents=100, idempotency_key=_key()
        )
    assert caught.value.code is RejectionCode.NOT_REFUNDABLE
    with pytest.raises(GatewayRejected) as unknown:
        await harness.gateway.refund(
            reference="pi_doesnotexist", amount_cents=100, idempotency_key=_key()
        )
    assert unknown.value.code is RejectionCode.PAYMENT_NOT_FOUND


# --- webhooks ---


async def test_webhook_of_a_payment_is_verified_and_read(harness: Harness) -> None:
    paid = await _pay(harness, harness.success)
    delivery = await harness.payment_webhook(paid.reference)
    event = harness.gateway.verify_webhook(delivery.payload, delivery.headers)
    assert event.type is EventType.PAYMENT_SUCCEEDED
    assert event.payment_reference == paid.reference
    assert (event.amount_cents, event.currency) == (2500, "USD")
    assert event.metadata == {"order_id": "41"}
    assert event.event_id
    assert event.created.tzinfo is not None


async def test_webhook_of_a_decline_names_the_code(harness: Harness) -> None:
    declined = await _pay(harness, harness.decline)
    delivery = await harness.payment_webhook(declined.reference)
    event = harness.gateway.verify_webhook(delivery.payload, delivery.headers)
    assert event.type is EventType.PAYMENT_FAILED
    assert event.payment_reference == declined.reference
    assert event.decline_code == "card_declined"


async def test_webhook_of_a_refund(harness: Harness) -> None:
    paid = await _pay(harness, harness.success)
    refund = await harness.gateway.refund(
        reference=paid.reference, amount_cents=700, idempotency_key=_key()
    )
    delivery = await harness.refund_webhook(refund.reference)
    event = harness.gateway.verify_webhook(delivery.payload, delivery.headers)
    assert event.type is EventType.REFUND_SUCCEEDED
    assert (event.payment_reference, event.refund_reference) == (paid.reference, refund.reference)
    assert (event.amount_cents, event.currency) == (700, "USD")


async def test_webhook_of_a_waiting_payment_is_other(harness: Harness) -> None:
    pending = await _pay(harness, harness.requires_action)
    delivery = await harness.payment_webhook(pending.reference)
    event = harness.gateway.verify_webhook(delivery.payload, delivery.headers)
    assert event.type is EventType.OTHER
    assert event.provider_type == "payment_intent.requires_action"
    assert event.payment_reference is None


async def test_webhook_delivered_twice_reads_as_the_same_event(harness: Harness) -> None:
    paid = await _pay(harness, harness.success)
    delivery = await harness.payment_webhook(paid.reference)
    first = harness.gateway.verify_webhook(delivery.payload, delivery.headers)
    second = harness.gateway.verify_webhook(delivery.payload, delivery.headers)
    assert second.event_id == first.event_id  # the caller stores it once by this id


async def test_forged_webhooks_are_refused(harness: Harness) -> None:
    paid = await _pay(harness, harness.success)
    delivery = await harness.payment_webhook(paid.reference)
    # Signed with another secret
    forged = harness.forge(delivery.payload)
    with pytest.raises(InvalidSignature):
        harness.gateway.verify_webhook(forged.payload, forged.headers)
    # A genuine signature over a changed body (the amount raised)
    body = json.loads(delivery.payload)
    body["data"]["object"]["amount"] = 1
    with pytest.raises(InvalidSignature):
        harness.gateway.verify_webhook(json.dumps(body).encode(), delivery.headers)
    # No signature at all, or an unreadable one
    with pytest.raises(InvalidSignature):
        harness.gateway.verify_webhook(delivery.payload, {})
    name = next(iter(delivery.headers))
    with pytest.raises(InvalidSignature):
        harness.gateway.verify_webhook(delivery.payload, {name: "t=abc,v1=é"})


async def test_signature_header_matches_case_insensitively(harness: Harness) -> None:
    paid = await _pay(harness, harness.success)
    delivery = await harness.payment_webhook(paid.reference)
    lowered = {k.lower(): v for k, v in delivery.headers.items()}
    assert harness.gateway.verify_webhook(delivery.payload, lowered).payment_reference == (
        paid.reference
    )


async def test_a_replayed_old_webhook_is_refused(harness: Harness) -> None:
    paid = await _pay(harness, harness.success)
    # Signed 6 minutes ago: older than the 300 s tolerance
    old = await harness.payment_webhook(
        paid.reference, signed_at=harness.now() - timedelta(minutes=6)
    )
    with pytest.raises(InvalidSignature):
        harness.gateway.verify_webhook(old.payload, old.headers)
    # Signed 4 minutes ago: still accepted
    recent = await harness.payment_webhook(
        paid.reference, signed_at=harness.now() - timedelta(minutes=4)
    )
    assert harness.gateway.verify_webhook(recent.payload, recent.headers).type is (
        EventType.PAYMENT_SUCCEEDED
    )


async def test_a_signed_body_that_is_no_event_is_invalid(harness: Harness) -> None:
    paid = await _pay(harness, harness.success)
    good = await harness.payment_webhook(paid.reference)
    name = next(iter(good.headers))
    for body in (b"not json", b"[1, 2]", b'{"object": "event", "id": "evt_1"}'):
        signed = _resign(harness, good, body)
        with pytest.raises(InvalidWebhook):
            harness.gateway.verify_webhook(signed.payload, {name: signed.headers[name]})


def _resign(harness: Harness, genuine: SignedWebhook, body: bytes) -> SignedWebhook:
    """`body` signed with the gateway's real secret (as only the provider could)."""
    from aiqleads.payments.gateways.signing import signature_header
    from tests.payments import fake_stripe
    from tests.payments.gateways.conftest import SANDBOX_SECRET

    secret = SANDBOX_SECRET if harness.name == "sandbox" else fake_stripe.WEBHOOK_SECRET
    name = next(iter(genuine.headers))
    header = signature_header(body, secret, timestamp=int(harness.now().timestamp()))
    return SignedWebhook(body, {name: header})


def test_result_types_are_plain_values() -> None:
    result = PaymentResult(
        reference="r", status=PaymentStatus.SUCCEEDED, amount_cents=1, currency="USD"
    )
    assert result.status == "succeeded"
    assert PaymentStatus.DECLINED.is_final and not PaymentStatus.PROCESSING.is_final
