"""The Stripe gateway: PaymentIntents confirmed at creation, refunds, signed webhooks.

A thin layer over the `stripe` package (saleor's `gateways/stripe/stripe_api.py` keeps the same
line): each call goes through one `stripe.StripeClient` of its own (no module globals, so two
gateways with different keys can live in one process) on the package's httpx client, without
blocking the event loop; every Stripe exception becomes one of ours here and nowhere else:

| Stripe | ours |
|---|---|
| CardError (HTTP 402) on create | a `declined` result with Stripe's code (card_declined, …) |
| APIConnectionError, RateLimitError, APIError (5xx, 409 key in use) | GatewayUnavailable |
| IdempotencyError | GatewayRejected(idempotency_conflict) |
| AuthenticationError, PermissionError | GatewayRejected(authentication / permission) |
| InvalidRequestError | GatewayRejected, by Stripe's code (see `_translate`) |
| SignatureVerificationError | InvalidSignature |

Card data never reaches us: `payment_token` is the PaymentMethod id ("pm_…") that Stripe.js made
in the buyer's browser. Each create and refund sends the caller's idempotency key; the client's
own network retries (`max_network_retries`) resend the same key, so they are safe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import stripe

from aiqleads.payments.gateways.base import (
    GatewayError,
    GatewayEvent,
    GatewayRejected,
    GatewayUnavailable,
    InvalidSignature,
    InvalidWebhook,
    PaymentGateway,
    PaymentResult,
    PaymentStatus,
    RefundResult,
    RejectionCode,
    check_amount,
    check_idempotency_key,
    check_payment_request,
    header_value,
)
from aiqleads.payments.gateways.stripe_shapes import (
    ShapeError,
    event_from_payload,
    payment_from_intent,
    refund_from_object,
)

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams, RefundCreateParams

Operation = Literal["create", "retrieve", "refund"]

# InvalidRequestError codes (Stripe's "Error codes" reference) that mean something to a caller.
_REFUND_CODES = {
    "amount_too_large": RejectionCode.REFUND_EXCEEDS_PAYMENT,
    "charge_already_refunded": RejectionCode.REFUND_EXCEEDS_PAYMENT,
    "charge_not_refundable": RejectionCode.NOT_REFUNDABLE,
    "payment_intent_unexpected_state": RejectionCode.NOT_REFUNDABLE,
}


def _translate(exc: stripe.StripeError, operation: Operation) -> GatewayError:
    """The one place a Stripe exception becomes ours."""
    code = exc.code if isinstance(exc.code, str) else None
    message = f"stripe: {exc.user_message or type(exc).__name__}"
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return GatewayUnavailable(message, provider_code=code)
    if isinstance(exc, stripe.IdempotencyError):
        return GatewayRejected(RejectionCode.IDEMPOTENCY_CONFLICT, message, provider_code=code)
    if isinstance(exc, stripe.AuthenticationError):
        return GatewayRejected(RejectionCode.AUTHENTICATION, message, provider_code=code)
    if isinstance(exc, stripe.PermissionError):
        return GatewayRejected(RejectionCode.PERMISSION, message, provider_code=code)
    if isinstance(exc, stripe.InvalidRequestError):
        rejection = RejectionCode.INVALID_REQUEST
        if code == "resource_missing" and operation != "create":
            rejection = RejectionCode.PAYMENT_NOT_FOUND
        elif operation == "refund" and code in _REFUND_CODES:
            rejection = _REFUND_CODES[code]
        # Stripe names the parameter it refused; the payment method is our payment_token.
        param = "payment_token" if exc.param == "payment_method" else None
        return GatewayRejected(rejection, message, provider_code=code, param=param)
    status = exc.http_status
    if status is None or status >= 500 or status == 409:
        # 5xx: Stripe's trouble; 409: a request with the same key is still running.
        return GatewayUnavailable(message, provider_code=code)
    return GatewayRejected(RejectionCode.INVALID_REQUEST, message, provider_code=code)


class _HTTPXClient(stripe.HTTPXClient):
    """The package's httpx client, handing the encoded form body to httpx as `content`.

    stripe (16.1) passes the already-encoded body as `data=`, which httpx 0.28 deprecates for
    raw content (a DeprecationWarning on every request) and 1.0 drops.
    """

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> Any:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        body = kwargs.get("data")
        if isinstance(body, str | bytes):
            kwargs["content"] = kwargs.pop("data")
        elif not body:
            kwargs.pop("data", None)  # GET: no body at all
        return [args, kwargs]


def _plain(obj: Any) -> dict[str, Any]:
    """A StripeObject as plain dicts and lists."""
    if not isinstance(obj, stripe.StripeObject):
        raise ShapeError(f"expected a Stripe object, got {type(obj).__name__}")
    return obj.to_dict()


class StripeGateway(PaymentGateway):
    """Stripe, through one `StripeClient`.

    api_key: a secret or restricted key ("sk_…", "rk_…"); webhook_secret: the endpoint's
    signing secret ("whsec_…"); api_base: another API address (tests point it at a local fake;
    None is Stripe's); max_network_retries: the client's own retries of connection errors and
    5xx, with the same idempotency key; timeout_seconds: per request.
    """

    name: ClassVar[str] = "stripe"
    signature_header: ClassVar[str] = "Stripe-Signature"

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        max_network_retries: int = 2,
        timeout_seconds: float = 30.0,
        tolerance_seconds: int = stripe.Webhook.DEFAULT_TOLERANCE,
    ) -> None:
        if not api_key:
            raise ValueError("the Stripe gateway needs an API key")
        if not webhook_secret:
            raise ValueError("the Stripe gateway needs a webhook signing secret")
        self._webhook_secret = webhook_secret
        self._tolerance = tolerance_seconds
        self._http = _HTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            http_client=self._http,
            max_network_retries=max_network_retries,
        )

    async def create_payment(
        self,
        *,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        payment_token: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> PaymentResult:
        """See `PaymentGateway.create_payment`. One `POST /v1/payment_intents` with
        confirm=true, without redirecting payment methods (so no return_url is needed).
        Raises ValueError also when no payment token is given: Stripe needs one."""
        plain = check_payment_request(
            amount_cents=amount_cents,
            currency=currency,
            idempotency_key=idempotency_key,
            description=description,
            metadata=metadata,
        )
        if not payment_token:
            raise ValueError("a payment token (a Stripe PaymentMethod id) is required")
        params: PaymentIntentCreateParams = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "payment_method": payment_token,
            # Cards confirm on the server without a return_url; methods that send the buyer
            # to another site would need one.
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "confirm": True,
            "metadata": plain,
        }
        if description is not None:
            params["description"] = description
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params, {"idempotency_key": idempotency_key}
            )
            result = payment_from_intent(_plain(intent))
        except stripe.CardError as exc:
            result = self._declined(exc)
        except stripe.StripeError as exc:
            raise _translate(exc, "create") from exc
        except ShapeError as exc:
            raise GatewayUnavailable(f"stripe: unreadable PaymentIntent: {exc}") from exc
        if result.amount_cents != amount_cents or result.currency != currency:
            raise GatewayRejected(
                RejectionCode.AMOUNT_MISMATCH,
                f"stripe recorded {result.amount_cents} {result.currency}"
                f" for a request of {amount_cents} {currency}",
            )
        return result

    async def retrieve_payment(self, reference: str) -> PaymentResult:
        if not reference:
            raise ValueError("a payment reference is required")
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(reference)
            return payment_from_intent(_plain(intent))
        except stripe.StripeError as exc:
            raise _translate(exc, "retrieve") from exc
        except ShapeError as exc:
            raise GatewayUnavailable(f"stripe: unreadable PaymentIntent: {exc}") from exc

    async def refund(
        self,
        *,
        reference: str,
        amount_cents: int,
        idempotency_key: str,
        reason: str | None = None,
    ) -> RefundResult:
        """See `PaymentGateway.refund`. One `POST /v1/refunds` naming the PaymentIntent; our
        reason goes in the refund's metadata, Stripe's `reason` is requested_by_customer."""
        check_amount(amount_cents)
        check_idempotency_key(idempotency_key)
        if not reference:
            raise ValueError("a payment reference is required")
        params: RefundCreateParams = {
            "payment_intent": reference,
            "amount": amount_cents,
            "reason": "requested_by_customer",
        }
        if reason is not None:
            params["metadata"] = {"reason": reason}
        try:
            refund = await self._client.v1.refunds.create_async(
                params, {"idempotency_key": idempotency_key}
            )
            result = refund_from_object(_plain(refund))
        except stripe.StripeError as exc:
            raise _translate(exc, "refund") from exc
        except ShapeError as exc:
            raise GatewayUnavailable(f"stripe: unreadable Refund: {exc}") from exc
        if result.amount_cents != amount_cents:
            raise GatewayRejected(
                RejectionCode.AMOUNT_MISMATCH,
                f"stripe refunded {result.amount_cents} for a request of {amount_cents}",
            )
        return result

    def verify_webhook(self, payload: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """See `PaymentGateway.verify_webhook`; verified by `stripe.Webhook.construct_event`
        (through the client) with Stripe's default tolerance of 300 s."""
        header = header_value(headers, self.signature_header)
        try:
            event = self._client.construct_event(
                payload, header, self._webhook_secret, self._tolerance
            )
        except stripe.SignatureVerificationError as exc:
            raise InvalidSignature(f"stripe webhook: {exc.user_message}") from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # Signed, but the body is not JSON of an event (UnicodeDecodeError and
            # JSONDecodeError are ValueErrors; the others come from building the object).
            raise InvalidWebhook(f"stripe webhook is not a readable event: {exc}") from None
        try:
            return event_from_payload(_plain(event))
        except ShapeError as exc:
            raise InvalidWebhook(f"stripe webhook is not a readable event: {exc}") from None

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]  # untyped in stripe

    @staticmethod
    def _declined(exc: stripe.CardError) -> PaymentResult:
        """The declined PaymentIntent that Stripe returns inside a card error's body."""
        body = exc.json_body if isinstance(exc.json_body, Mapping) else {}
        error = body.get("error")
        intent = error.get("payment_intent") if isinstance(error, Mapping) else None
        if not isinstance(intent, Mapping):
            raise GatewayRejected(
                RejectionCode.INVALID_REQUEST,
                f"stripe: declined without naming a PaymentIntent ({exc.user_message})",
                provider_code=exc.code,
            )
        try:
            result = payment_from_intent(intent)
        except ShapeError as shape:
            raise GatewayUnavailable(f"stripe: unreadable declined PaymentIntent: {shape}") from exc
        if result.status is not PaymentStatus.DECLINED:
            return result  # a card error on an intent that is not declined: trust the intent
        return dataclasses.replace(
            result,
            decline_code=exc.code or result.decline_code,
            decline_message=exc.user_message or result.decline_message,
        )
