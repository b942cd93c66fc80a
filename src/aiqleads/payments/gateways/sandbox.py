"""The sandbox gateway: the default, with no network, for development, the demo and tests.

It behaves as a provider would, Stripe in particular, so code written against it works the same
with Stripe:

* Payment tokens, like Stripe's test cards (DESIGN.md section 6):

  | token | outcome |
  |---|---|
  | `tok_success` (also when no token is given) | succeeded |
  | `tok_decline` | declined, code `card_declined` |
  | `tok_requires_action` | requires_action (3-D Secure); settle it with `resolve_pending` |
  | `tok_processing` | processing; settle it with `resolve_pending` |
  | `tok_network_error` | raises GatewayUnavailable and records nothing: nothing is charged |
  | `tok_success_lost_reply` | charges (succeeded), then raises GatewayUnavailable (see below) |

  `tok_success_lost_reply` plays an answer lost on its way back: the payment is made but the
  caller does not know it, the case reconciliation exists for. A retry with the same key answers
  the success, and `retrieve_payment` finds it.

  Any other token is refused (GatewayRejected invalid_request), as Stripe refuses an unknown
  payment method.
* State survives the process: payments and refunds are rows of `sandbox_payments` and
  `sandbox_refunds`, written in the sandbox's own transactions (a provider's state does not roll
  back with the caller's transaction).
* Idempotency as Stripe's: the same key with the same parameters answers the first result and
  charges once; with other parameters it is refused (idempotency_conflict). Refunds likewise,
  with keys of their own.
* Refunds: of succeeded payments only, adding up to at most the amount paid; they succeed at once.
* Webhooks in Stripe's event shapes and signature scheme (header `Aiq-Sandbox-Signature`, the
  sandbox webhook secret): `payment_webhook` and `refund_webhook` build the signed delivery a
  provider would send, so webhook handling is tested the same way for every gateway.
* References are `sbx_pi_…` (payments), `sbx_re_…` (refunds), `evt_sbx_…` (events).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.kit.clock import Clock, SystemClock
from aiqleads.models.sandbox_payment import SandboxPayment
from aiqleads.models.sandbox_refund import SandboxRefund
from aiqleads.payments.gateways import sandbox_repository as repo
from aiqleads.payments.gateways.base import (
    GatewayEvent,
    GatewayRejected,
    GatewayUnavailable,
    InvalidWebhook,
    PaymentGateway,
    PaymentResult,
    PaymentStatus,
    RefundResult,
    RejectionCode,
    SignedWebhook,
    check_amount,
    check_idempotency_key,
    check_payment_request,
    header_value,
    request_fingerprint,
)
from aiqleads.payments.gateways.signing import (
    DEFAULT_TOLERANCE_SECONDS,
    signature_header,
    verify_signature,
)
from aiqleads.payments.gateways.stripe_shapes import (
    ShapeError,
    event_from_payload,
    payment_from_intent,
    refund_from_object,
)


class SandboxToken(StrEnum):
    SUCCESS = "tok_success"
    DECLINE = "tok_decline"
    REQUIRES_ACTION = "tok_requires_action"
    PROCESSING = "tok_processing"
    NETWORK_ERROR = "tok_network_error"
    SUCCESS_LOST_REPLY = "tok_success_lost_reply"


DEFAULT_TOKEN = SandboxToken.SUCCESS

# What each token leaves recorded; NETWORK_ERROR records nothing.
_OUTCOME = {
    SandboxToken.SUCCESS: PaymentStatus.SUCCEEDED,
    SandboxToken.SUCCESS_LOST_REPLY: PaymentStatus.SUCCEEDED,
    SandboxToken.DECLINE: PaymentStatus.DECLINED,
    SandboxToken.REQUIRES_ACTION: PaymentStatus.REQUIRES_ACTION,
    SandboxToken.PROCESSING: PaymentStatus.PROCESSING,
}
# Stripe's codes and messages for the same cases (a generic decline; a failed 3-D Secure).
_CARD_DECLINED = ("card_declined", "Your card was declined.")
_AUTHENTICATION_FAILED = (
    "payment_intent_authentication_failure",
    "The provided payment method has failed authentication.",
)
# Our status → the PaymentIntent status Stripe shows for it (a declined intent waits for
# another payment method).
_INTENT_STATUS = {
    PaymentStatus.SUCCEEDED: "succeeded",
    PaymentStatus.DECLINED: "requires_payment_method",
    PaymentStatus.REQUIRES_ACTION: "requires_action",
    PaymentStatus.PROCESSING: "processing",
}
_EVENT_TYPE = {
    PaymentStatus.SUCCEEDED: "payment_intent.succeeded",
    PaymentStatus.DECLINED: "payment_intent.payment_failed",
    PaymentStatus.REQUIRES_ACTION: "payment_intent.requires_action",
    PaymentStatus.PROCESSING: "payment_intent.processing",
}


def _new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"


def _intent(payment: SandboxPayment) -> dict[str, Any]:
    """The payment in Stripe's PaymentIntent shape (the subset we read)."""
    status = PaymentStatus(payment.status)
    error = None
    if status is PaymentStatus.DECLINED:
        error = {
            "type": "card_error",
            "code": payment.decline_code,
            "message": payment.decline_message,
        }
    return {
        "id": payment.reference,
        "object": "payment_intent",
        "amount": payment.amount_cents,
        "amount_received": payment.amount_cents if status is PaymentStatus.SUCCEEDED else 0,
        "currency": payment.currency.lower(),
        "status": _INTENT_STATUS[status],
        "client_secret": payment.client_secret,
        "created": int(payment.created_at.timestamp()),
        "description": payment.description,
        "metadata": dict(payment.metadata_),
        "last_payment_error": error,
        "next_action": (
            {"type": "sandbox_confirm"} if status is PaymentStatus.REQUIRES_ACTION else None
        ),
        "livemode": False,
    }


def _refund_object(refund: SandboxRefund, payment_reference: str) -> dict[str, Any]:
    """The refund in Stripe's Refund shape (the subset we read)."""
    return {
        "id": refund.reference,
        "object": "refund",
        "amount": refund.amount_cents,
        "currency": refund.currency.lower(),
        "payment_intent": payment_reference,
        "status": refund.status,
        "reason": "requested_by_customer",
        "metadata": {"reason": refund.reason} if refund.reason else {},
        "created": int(refund.created_at.timestamp()),
    }


class SandboxGateway(PaymentGateway):
    """The sandbox provider. `sessions` opens sessions on the application's database, where the
    sandbox keeps its own tables; `webhook_secret` signs and verifies its webhooks."""

    name: ClassVar[str] = "sandbox"
    signature_header: ClassVar[str] = "Aiq-Sandbox-Signature"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        webhook_secret: str,
        clock: Clock | None = None,
        tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    ) -> None:
        if not webhook_secret:
            raise ValueError("the sandbox gateway needs a webhook secret")
        self._sessions = sessions
        self._secret = webhook_secret
        self._clock = clock or SystemClock()
        self._tolerance = tolerance_seconds

    # --- the interface ---

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
        """See `PaymentGateway.create_payment`; the token decides the outcome (module doc)."""
        plain = check_payment_request(
            amount_cents=amount_cents,
            currency=currency,
            idempotency_key=idempotency_key,
            description=description,
            metadata=metadata,
        )
        token_name = payment_token if payment_token is not None else DEFAULT_TOKEN.value
        try:
            token = SandboxToken(token_name)
        except ValueError:
            raise GatewayRejected(
                RejectionCode.INVALID_REQUEST,
                f"unknown sandbox payment token {token_name!r};"
                f" known: {', '.join(t.value for t in SandboxToken)}",
                param="payment_token",
            ) from None
        fingerprint = request_fingerprint(
            amount_cents=amount_cents,
            currency=currency,
            payment_token=token.value,
            description=description,
            metadata=plain,
        )
        async with _store_errors():
            existing = await self._replayed_payment(idempotency_key, fingerprint)
            if existing is not None:
                return existing
            if token is SandboxToken.NETWORK_ERROR:
                raise GatewayUnavailable(
                    "sandbox: simulated network error before the request arrived;"
                    " nothing was charged"
                )
            status = _OUTCOME[token]
            now = self._clock.now()
            reference = _new_id("sbx_pi_")
            decline = _CARD_DECLINED if status is PaymentStatus.DECLINED else (None, None)
            payment = SandboxPayment(
                reference=reference,
                idempotency_key=idempotency_key,
                request_fingerprint=fingerprint,
                payment_token=token.value,
                amount_cents=amount_cents,
                currency=currency,
                status=status.value,
                decline_code=decline[0],
                decline_message=decline[1],
                client_secret=f"{reference}_secret_{secrets.token_hex(12)}",
                description=description,
                metadata_=plain,
                refunded_cents=0,
                created_at=now,
                updated_at=now,
            )
            try:
                async with transaction(self._sessions) as session:
                    await repo.insert_payment(session, payment)
                    # Read before the commit: the caller's sessions may expire on commit.
                    result = payment_from_intent(_intent(payment))
            except IntegrityError:
                # The same key raced in from another request: answer what it recorded.
                existing = await self._replayed_payment(idempotency_key, fingerprint)
                if existing is None:
                    raise GatewayUnavailable("sandbox: could not record the payment") from None
                return existing
        if token is SandboxToken.SUCCESS_LOST_REPLY:
            raise GatewayUnavailable(
                f"sandbox: simulated lost answer; payment {reference} was charged"
            )
        return result

    async def retrieve_payment(self, reference: str) -> PaymentResult:
        async with _store_errors(), self._sessions() as session:
            payment = await repo.payment_by_reference(session, reference)
            if payment is None:
                raise GatewayRejected(
                    RejectionCode.PAYMENT_NOT_FOUND, f"no sandbox payment {reference!r}"
                )
            return payment_from_intent(_intent(payment))

    async def refund(
        self,
        *,
        reference: str,
        amount_cents: int,
        idempotency_key: str,
        reason: str | None = None,
    ) -> RefundResult:
        """See `PaymentGateway.refund`. Sandbox refunds succeed at once."""
        check_amount(amount_cents)
        check_idempotency_key(idempotency_key)
        if reason is not None and (not isinstance(reason, str) or len(reason) > 255):
            raise ValueError("reason must be a string of at most 255 characters")
        fingerprint = request_fingerprint(
            reference=reference, amount_cents=amount_cents, reason=reason
        )
        async with _store_errors():
            existing = await self._replayed_refund(idempotency_key, fingerprint)
            if existing is not None:
                return existing
            try:
                async with transaction(self._sessions) as session:
                    result = await self._refund_once(
                        session, reference, amount_cents, idempotency_key, reason, fingerprint
                    )
            except GatewayRejected as exc:
                # The same request sent twice at once: the second waited on the payment's row
                # while the first refunded it, and finds nothing left. It is a replay, and gets
                # the first one's answer, as a provider's idempotency key promises.
                if exc.code is not RejectionCode.REFUND_EXCEEDS_PAYMENT:
                    raise
                existing = await self._replayed_refund(idempotency_key, fingerprint)
                if existing is None:
                    raise
                return existing
            except IntegrityError:
                existing = await self._replayed_refund(idempotency_key, fingerprint)
                if existing is None:
                    raise GatewayUnavailable("sandbox: could not record the refund") from None
                return existing
            return result

    def verify_webhook(self, payload: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        verify_signature(
            payload,
            header_value(headers, self.signature_header),
            self._secret,
            now=self._clock.now(),
            tolerance_seconds=self._tolerance,
        )
        try:
            event = json.loads(payload)
            if not isinstance(event, Mapping):
                raise ShapeError("the payload is not a JSON object")
            return event_from_payload(event)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and ShapeError
            raise InvalidWebhook(f"sandbox webhook is not a readable event: {exc}") from None

    # --- what a test or the demo drives, as the buyer or the provider would ---

    async def resolve_pending(self, reference: str, *, succeed: bool = True) -> PaymentResult:
        """Finish a `requires_action` payment (the buyer passed or failed 3-D Secure) or a
        `processing` one (the provider settled it). Raises ValueError when the payment is
        already final, GatewayRejected(payment_not_found) when it is unknown."""
        async with _store_errors():
            async with transaction(self._sessions) as session:
                payment = await repo.payment_by_reference(session, reference)
                if payment is None:
                    raise GatewayRejected(
                        RejectionCode.PAYMENT_NOT_FOUND, f"no sandbox payment {reference!r}"
                    )
                failure = (
                    _AUTHENTICATION_FAILED
                    if payment.status == "requires_action"
                    else _CARD_DECLINED
                )
                code, message = (None, None) if succeed else failure
                status = PaymentStatus.SUCCEEDED if succeed else PaymentStatus.DECLINED
                settled = await repo.settle(
                    session,
                    reference,
                    status=status.value,
                    decline_code=code,
                    decline_message=message,
                    at=self._clock.now(),
                )
                if not settled:
                    raise ValueError(f"sandbox payment {reference} is already {payment.status}")
            return await self.retrieve_payment(reference)

    async def payment_webhook(
        self,
        reference: str,
        *,
        event_id: str | None = None,
        signed_at: datetime | None = None,
    ) -> SignedWebhook:
        """The signed webhook a provider sends for the payment's current status
        (`payment_intent.succeeded`, `.payment_failed`, `.requires_action`, `.processing`).
        `event_id` (default: a new one) and `signed_at` (default: now) let a test replay a
        delivery or age its signature."""
        async with _store_errors(), self._sessions() as session:
            payment = await repo.payment_by_reference(session, reference)
            if payment is None:
                raise GatewayRejected(
                    RejectionCode.PAYMENT_NOT_FOUND, f"no sandbox payment {reference!r}"
                )
            event_type = _EVENT_TYPE[PaymentStatus(payment.status)]
            return self.sign_event(
                self._event(event_type, _intent(payment), event_id), signed_at=signed_at
            )

    async def refund_webhook(
        self,
        refund_reference: str,
        *,
        event_id: str | None = None,
        signed_at: datetime | None = None,
    ) -> SignedWebhook:
        """The signed `refund.created` webhook for a sandbox refund (see `payment_webhook`)."""
        async with _store_errors(), self._sessions() as session:
            refund = await repo.refund_by_reference(session, refund_reference)
            if refund is None:
                raise GatewayRejected(
                    RejectionCode.PAYMENT_NOT_FOUND, f"no sandbox refund {refund_reference!r}"
                )
            payment_reference = await repo.reference_of_payment(session, refund.payment_id)
            obj = _refund_object(refund, payment_reference)
            return self.sign_event(
                self._event("refund.created", obj, event_id), signed_at=signed_at
            )

    def sign_event(
        self, event: Mapping[str, Any], *, signed_at: datetime | None = None
    ) -> SignedWebhook:
        """Sign any event body with the sandbox secret, as the provider would deliver it."""
        payload = json.dumps(event, separators=(",", ":")).encode("utf-8")
        when = int((signed_at or self._clock.now()).timestamp())
        header = signature_header(payload, self._secret, timestamp=when)
        return SignedWebhook(
            payload=payload,
            headers={self.signature_header: header, "Content-Type": "application/json"},
        )

    # --- helpers ---

    def _event(self, event_type: str, obj: dict[str, Any], event_id: str | None) -> dict[str, Any]:
        return {
            "id": event_id or _new_id("evt_sbx_"),
            "object": "event",
            "type": event_type,
            "created": int(self._clock.now().timestamp()),
            "livemode": False,
            "data": {"object": obj},
        }

    async def _replayed_payment(self, key: str, fingerprint: str) -> PaymentResult | None:
        async with self._sessions() as session:
            payment = await repo.payment_by_key(session, key)
            if payment is None:
                return None
            if payment.request_fingerprint != fingerprint:
                raise GatewayRejected(
                    RejectionCode.IDEMPOTENCY_CONFLICT,
                    "idempotency key already used with different parameters",
                )
            return payment_from_intent(_intent(payment))

    async def _replayed_refund(self, key: str, fingerprint: str) -> RefundResult | None:
        async with self._sessions() as session:
            refund = await repo.refund_by_key(session, key)
            if refund is None:
                return None
            if refund.request_fingerprint != fingerprint:
                raise GatewayRejected(
                    RejectionCode.IDEMPOTENCY_CONFLICT,
                    "idempotency key already used with different parameters",
                )
            payment_reference = await repo.reference_of_payment(session, refund.payment_id)
        return refund_from_object(_refund_object(refund, payment_reference))

    async def _refund_once(
        self,
        session: AsyncSession,
        reference: str,
        amount_cents: int,
        key: str,
        reason: str | None,
        fingerprint: str,
    ) -> RefundResult:
        payment = await repo.payment_by_reference(session, reference)
        if payment is None:
            raise GatewayRejected(
                RejectionCode.PAYMENT_NOT_FOUND, f"no sandbox payment {reference!r}"
            )
        if payment.status != PaymentStatus.SUCCEEDED:
            raise GatewayRejected(
                RejectionCode.NOT_REFUNDABLE,
                f"payment {reference} is {payment.status}; only a succeeded payment is refunded",
            )
        now = self._clock.now()
        if not await repo.add_refunded(session, payment.id, amount_cents, at=now):
            raise GatewayRejected(
                RejectionCode.REFUND_EXCEEDS_PAYMENT,
                f"refund of {amount_cents} exceeds what is left to refund of payment {reference}",
            )
        refund = SandboxRefund(
            reference=_new_id("sbx_re_"),
            idempotency_key=key,
            request_fingerprint=fingerprint,
            payment_id=payment.id,
            amount_cents=amount_cents,
            currency=payment.currency,
            status="succeeded",
            reason=reason,
            created_at=now,
        )
        await repo.insert_refund(session, refund)
        return refund_from_object(_refund_object(refund, reference))


@asynccontextmanager
async def _store_errors() -> AsyncIterator[None]:
    """Turns a failure of the sandbox's own store (database down, lock timeout) into
    GatewayUnavailable, as a provider's internal error would reach us: outcome unknown."""
    try:
        yield
    except IntegrityError:
        raise
    except DBAPIError as exc:
        raise GatewayUnavailable(f"sandbox store unavailable: {type(exc).__name__}") from exc
