"""What only the Stripe gateway does: the client's own retries, keys, and Stripe's errors mapped.

Against the local fake on 127.0.0.1 (tests/payments/fake_stripe.py); nothing leaves loopback.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import stripe

from aiqleads.payments.gateways import (
    GatewayRejected,
    GatewayUnavailable,
    PaymentStatus,
    RejectionCode,
)
from aiqleads.payments.gateways.stripe import StripeGateway, _translate
from tests.payments import fake_stripe as fs
from tests.payments.fake_stripe import FakeStripe, Fault


def _key() -> str:
    return f"checkout-{uuid.uuid4()}"


def _gateway(fake: FakeStripe, *, retries: int = 0, api_key: str = fs.API_KEY) -> StripeGateway:
    return StripeGateway(
        api_key=api_key,
        webhook_secret=fs.WEBHOOK_SECRET,
        api_base=fake.url + "/",
        max_network_retries=retries,
        timeout_seconds=10,
    )


@pytest.fixture
async def gateway(fake_stripe: FakeStripe) -> AsyncIterator[StripeGateway]:
    made = _gateway(fake_stripe)
    yield made
    await made.aclose()


async def test_a_server_error_is_unavailable_and_charges_nothing(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail_next(Fault.SERVER_ERROR)
    with pytest.raises(GatewayUnavailable):
        await gateway.create_payment(
            amount_cents=2500, currency="USD", idempotency_key=_key(), payment_token=fs.SUCCESS
        )
    assert fake_stripe.charged() == []


async def test_the_clients_own_retry_resends_the_key_and_charges_once(
    fake_stripe: FakeStripe,
) -> None:
    # Given a client that retries once, and an answer lost after the charge
    retrying = _gateway(fake_stripe, retries=1)
    fake_stripe.fail_next(Fault.DROP_AFTER)
    key = _key()
    try:
        # When the payment is made
        paid = await retrying.create_payment(
            amount_cents=2500, currency="USD", idempotency_key=key, payment_token=fs.SUCCESS
        )
    finally:
        await retrying.aclose()
    # Then the retry carried the same key and got the saved answer: one charge
    assert paid.status is PaymentStatus.SUCCEEDED
    assert fake_stripe.charged() == [paid.reference]
    creates = [k for (m, path, k) in fake_stripe.requests if path == "/v1/payment_intents"]
    assert creates == [key, key]


async def test_each_call_sends_the_callers_idempotency_key(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    pay_key, refund_key = _key(), _key()
    paid = await gateway.create_payment(
        amount_cents=2500, currency="USD", idempotency_key=pay_key, payment_token=fs.SUCCESS
    )
    await gateway.refund(reference=paid.reference, amount_cents=100, idempotency_key=refund_key)
    posted = [k for (m, _, k) in fake_stripe.requests if m == "POST"]
    assert posted == [pay_key, refund_key]


async def test_a_wrong_api_key_is_rejected(fake_stripe: FakeStripe) -> None:
    wrong = _gateway(fake_stripe, api_key="sk_test_wrong")
    try:
        with pytest.raises(GatewayRejected) as caught:
            await wrong.retrieve_payment("pi_x")
    finally:
        await wrong.aclose()
    assert caught.value.code is RejectionCode.AUTHENTICATION


async def test_two_gateways_with_different_keys_live_in_one_process(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    wrong = _gateway(fake_stripe, api_key="sk_test_other_account")
    try:
        with pytest.raises(GatewayRejected):
            await wrong.create_payment(
                amount_cents=2500, currency="USD", idempotency_key=_key(), payment_token=fs.SUCCESS
            )
        paid = await gateway.create_payment(
            amount_cents=2500, currency="USD", idempotency_key=_key(), payment_token=fs.SUCCESS
        )
    finally:
        await wrong.aclose()
    assert paid.status is PaymentStatus.SUCCEEDED
    assert stripe.api_key is None  # nothing was set on the module


async def test_stripe_needs_a_token(gateway: StripeGateway) -> None:
    with pytest.raises(ValueError, match="payment token"):
        await gateway.create_payment(amount_cents=2500, currency="USD", idempotency_key=_key())


async def test_an_unknown_payment_method_is_an_invalid_request(gateway: StripeGateway) -> None:
    with pytest.raises(GatewayRejected) as caught:
        await gateway.create_payment(
            amount_cents=2500, currency="USD", idempotency_key=_key(), payment_token="pm_nope"
        )
    assert caught.value.code is RejectionCode.INVALID_REQUEST
    assert caught.value.provider_code == "resource_missing"


async def test_stripes_minimum_amount_is_its_own_refusal(gateway: StripeGateway) -> None:
    with pytest.raises(GatewayRejected) as caught:
        await gateway.create_payment(
            amount_cents=49, currency="USD", idempotency_key=_key(), payment_token=fs.SUCCESS
        )
    assert caught.value.provider_code == "amount_too_small"


_INVALID = stripe.InvalidRequestError


def _error(
    cls: type[stripe.StripeError], status: int | None, code: str | None = None
) -> stripe.StripeError:
    """The exception the stripe package raises for such an answer (its own classes)."""
    body = {"error": {"type": "x", "message": "m", "code": code}}
    if cls is stripe.InvalidRequestError:
        return stripe.InvalidRequestError(  # type: ignore[no-untyped-call]
            "m", None, code, http_status=status, json_body=body
        )
    if cls is stripe.APIConnectionError:
        return stripe.APIConnectionError("m")  # type: ignore[no-untyped-call]
    return cls("m", http_status=status, json_body=body, code=code)


@pytest.mark.parametrize(
    ("cls", "status", "code", "operation", "expected"),
    [
        (stripe.APIConnectionError, None, None, "create", GatewayUnavailable),
        (stripe.RateLimitError, 429, "rate_limit", "create", GatewayUnavailable),
        (stripe.APIError, 500, None, "create", GatewayUnavailable),
        (stripe.APIError, 503, None, "refund", GatewayUnavailable),
        (stripe.APIError, 409, "idempotency_key_in_use", "create", GatewayUnavailable),
        (stripe.IdempotencyError, 400, None, "create", RejectionCode.IDEMPOTENCY_CONFLICT),
        (stripe.AuthenticationError, 401, None, "retrieve", RejectionCode.AUTHENTICATION),
        (stripe.PermissionError, 403, None, "refund", RejectionCode.PERMISSION),
        (_INVALID, 404, "resource_missing", "retrieve", "payment_not_found"),
        (_INVALID, 400, "resource_missing", "create", "invalid_request"),
        (_INVALID, 400, "amount_too_large", "refund", "refund_exceeds_payment"),
        (
            stripe.InvalidRequestError,
            400,
            "charge_already_refunded",
            "refund",
            "refund_exceeds_payment",
        ),
        (
            stripe.InvalidRequestError,
            400,
            "payment_intent_unexpected_state",
            "refund",
            "not_refundable",
        ),
        (_INVALID, 400, "parameter_unknown", "create", "invalid_request"),
    ],
)
def test_every_stripe_error_becomes_ours(
    cls: type[stripe.StripeError],
    status: int | None,
    code: str | None,
    operation: str,
    expected: object,
) -> None:
    ours = _translate(_error(cls, status, code), operation)  # type: ignore[arg-type]
    if expected is GatewayUnavailable:
        assert isinstance(ours, GatewayUnavailable)
    else:
        assert isinstance(ours, GatewayRejected)
        assert ours.code == expected
