"""The provider-neutral payment interface: value types, errors and the gateway contract.

Every gateway (the sandbox, Stripe) answers in these types and raises only the errors below,
never a provider's own exception, so orders, checkout, the ledger and returns are written once
for all of them (the shape of saleor's `payment/interface.py`).

Money is an integer number of cents of an ISO 4217 currency ("USD"), as everywhere in the
project (`kit.money`). A result carries the amount and currency the provider recorded, so the
caller can check them against what it asked for.

Rules for callers:

* Call a gateway outside any database transaction of your own. A gateway is a remote system:
  the sandbox keeps its state in transactions of its own, like a provider would, and on SQLite
  an open write transaction of the caller would make it wait for the write lock.
* Use one idempotency key per attempt (per checkout attempt, per refund). When a call raises
  `GatewayUnavailable` the outcome is unknown: call again with the SAME key and the same
  parameters. The provider then answers the first outcome or performs the operation once, so a
  payment is charged at most once and a refund made at most once. The same key with different
  parameters raises `GatewayRejected` with code `idempotency_conflict`.
* Webhooks: `verify_webhook` checks the signature and its age and returns one `GatewayEvent`.
  The same event may arrive more than once and out of order (store it by `event_id` and process
  it once), and one payment or refund may be reported by several events (apply a payment or a
  refund once, by its reference).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

# Limits a provider also enforces (Stripe's metadata and idempotency key limits), checked before
# any call so every gateway refuses the same requests with the same reason.
MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500
MAX_DESCRIPTION_LENGTH = 1000  # ours: a description is for people, not for data


class PaymentStatus(StrEnum):
    """Where a payment stands.

    `succeeded` and `declined` are final. `requires_action` waits for the buyer (3-D Secure:
    the client completes it with `client_secret`); `processing` waits for the provider. Both end
    in `succeeded` or `declined`, reported by a webhook or seen by `retrieve_payment`.
    """

    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"

    @property
    def is_final(self) -> bool:
        return self in (PaymentStatus.SUCCEEDED, PaymentStatus.DECLINED)


class RefundStatus(StrEnum):
    """`succeeded` and `failed` are final; `pending` is reported later by a webhook."""

    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"


class EventType(StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    OTHER = "other"  # verified but of no interest to us; acknowledge it and ignore it


class RejectionCode(StrEnum):
    """Why a provider refused a request (never a card decline: that is a `declined` result)."""

    INVALID_REQUEST = "invalid_request"  # the provider found the request malformed
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"  # key reused with different parameters
    PAYMENT_NOT_FOUND = "payment_not_found"
    NOT_REFUNDABLE = "not_refundable"  # the payment has not succeeded
    REFUND_EXCEEDS_PAYMENT = "refund_exceeds_payment"  # more than what is left to refund
    AMOUNT_MISMATCH = "amount_mismatch"  # the provider recorded another amount or currency
    AUTHENTICATION = "authentication"  # our API key was refused
    PERMISSION = "permission"  # the key may not do this


class GatewayError(Exception):
    """Base of every error a gateway raises. `provider_code` is the provider's own error code
    (e.g. Stripe's "amount_too_large"), for logs only."""

    def __init__(self, message: str, *, provider_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.provider_code = provider_code


class GatewayUnavailable(GatewayError):
    """The outcome is unknown: network error, timeout, provider 5xx, rate limit, a concurrent
    request with the same key. Safe to retry with the same idempotency key; a payment may have
    been made (ask `retrieve_payment` or wait for the webhook before giving up on it)."""


class GatewayRejected(GatewayError):
    """The provider refused the request (a 4xx other than a card decline). Retrying the same
    request will not help; `code` says why, and `param` which of our parameters the provider
    blamed, when it named one (only "payment_token" so far: the buyer's to correct)."""

    def __init__(
        self,
        code: RejectionCode,
        message: str,
        *,
        provider_code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message, provider_code=provider_code)
        self.code = code
        self.param = param


class InvalidWebhook(GatewayError):
    """A webhook that is not a well-formed, verified event of this gateway (answer it 400)."""


class InvalidSignature(InvalidWebhook):
    """The webhook's signature is missing, does not match the secret, or is too old."""


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """A payment as the provider knows it.

    reference: the provider's id of the payment (Stripe's PaymentIntent id "pi_…", the
      sandbox's "sbx_pi_…"); unique per gateway; what `retrieve_payment`, `refund` and webhook
      events name.
    amount_cents, currency: what the provider recorded (integer cents, ISO 4217 upper case).
    decline_code, decline_message: for `declined`, the provider's reason ("card_declined",
      "expired_card", …) and a message fit for the buyer.
    client_secret: lets the buyer's browser finish a `requires_action` payment with the
      provider's script (Stripe.js `handleNextAction`); never log or store it.
    next_action: for `requires_action`, what the client must do ("use_stripe_sdk",
      "redirect_to_url", the sandbox's "sandbox_confirm"); redirect_url goes with
      "redirect_to_url".
    metadata: the metadata given at creation (strings only).
    """

    reference: str
    status: PaymentStatus
    amount_cents: int
    currency: str
    decline_code: str | None = None
    decline_message: str | None = None
    client_secret: str | None = None
    next_action: str | None = None
    redirect_url: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefundResult:
    """A refund as the provider knows it: its own reference ("re_…", "sbx_re_…"), the payment
    it refunds, its status and the amount returned to the buyer (integer cents, ISO currency)."""

    reference: str
    payment_reference: str
    status: RefundStatus
    amount_cents: int
    currency: str
    failure_reason: str | None = None


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    """One verified webhook event.

    event_id: the provider's event id, unique per gateway: store events by it, process once.
    type: what happened, in our terms; provider_type is the provider's own name
      ("payment_intent.succeeded") for logs.
    created: when the provider created the event (UTC).
    payment_reference: the payment concerned (set for every type but `other`).
    refund_reference: the refund concerned (set for refund_succeeded and refund_failed).
    amount_cents, currency: the payment's amount for payment events, the refund's for refund
      events (set for every type but `other`).
    decline_code: for payment_failed, the provider's reason when it gave one.
    metadata: the payment's (or refund's) metadata.
    """

    event_id: str
    type: EventType
    provider_type: str
    created: datetime
    payment_reference: str | None = None
    refund_reference: str | None = None
    amount_cents: int | None = None
    currency: str | None = None
    decline_code: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SignedWebhook:
    """A webhook as a provider would deliver it: the raw body and the headers to send with it."""

    payload: bytes
    headers: dict[str, str]


class PaymentGateway(ABC):
    """One payment provider. Instances are safe to share between concurrent requests."""

    name: ClassVar[str]  # "sandbox", "stripe": for settings, logs and metric labels
    signature_header: ClassVar[str]  # the HTTP header that carries a webhook's signature

    @abstractmethod
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
        """Charge `amount_cents` of `currency` with the payment method the buyer's browser
        tokenised (`payment_token`; card data never reaches us), confirming at once.

        A card decline is a result with status `declined`, not an error.
        Raises ValueError when the request is malformed (checked before any call: amount not a
        positive int, currency not ISO 4217 upper case, empty or overlong key, metadata not
        str → str within the provider's limits, a token missing where the gateway needs one);
        GatewayUnavailable (outcome unknown: retry with the same key); GatewayRejected.
        """

    @abstractmethod
    async def retrieve_payment(self, reference: str) -> PaymentResult:
        """The payment's current state. Raises GatewayRejected(payment_not_found) for an
        unknown reference, GatewayUnavailable."""

    @abstractmethod
    async def refund(
        self,
        *,
        reference: str,
        amount_cents: int,
        idempotency_key: str,
        reason: str | None = None,
    ) -> RefundResult:
        """Return `amount_cents` (in the payment's currency) of the succeeded payment
        `reference` to the buyer; several partial refunds may add up to the amount paid.
        `reason` is ours (e.g. "wrong_number"), kept with the refund.

        Raises ValueError (amount not a positive int, bad key); GatewayRejected with
        payment_not_found, not_refundable (the payment has not succeeded),
        refund_exceeds_payment (more than what is left), idempotency_conflict;
        GatewayUnavailable (retry with the same key).
        """

    @abstractmethod
    def verify_webhook(self, payload: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify the raw request body against the signature header (HMAC-SHA256 with the
        gateway's webhook secret, Stripe's scheme; older than 300 s is refused, Stripe's
        default tolerance) and read the event. Header names match case-insensitively.

        Raises InvalidSignature (missing, wrong or too old) or InvalidWebhook (signed but not
        an event we can read). CPU only, no network.
        """

    async def aclose(self) -> None:  # noqa: B027 (optional hook, nothing to close by default)
        """Release network resources; call once when the application stops."""


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """`headers[name]`, matching the name case-insensitively (plain dicts included)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def check_currency(currency: str) -> None:
    if not (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isascii()
        and currency.isalpha()
        and currency.isupper()
    ):
        raise ValueError(f"currency must be an ISO 4217 code in upper case, got {currency!r}")


def check_amount(amount_cents: int) -> None:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise ValueError(f"amount_cents must be an int, got {type(amount_cents).__name__}")
    if amount_cents <= 0:
        raise ValueError(f"amount_cents must be positive, got {amount_cents}")


def check_idempotency_key(key: str) -> None:
    if not isinstance(key, str) or not key.strip():
        raise ValueError("idempotency_key must be a non-empty string")
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ValueError(
            f"idempotency_key must be printable ASCII of at most {MAX_IDEMPOTENCY_KEY_LENGTH}"
            " characters"
        )


def check_payment_request(
    *,
    amount_cents: int,
    currency: str,
    idempotency_key: str,
    description: str | None,
    metadata: Mapping[str, str] | None,
) -> dict[str, str]:
    """Check a `create_payment` request; return the metadata as a plain dict.

    Raises ValueError with the reason for the first problem found.
    """
    check_amount(amount_cents)
    check_currency(currency)
    check_idempotency_key(idempotency_key)
    if description is not None and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH
    ):
        raise ValueError(f"description must be a string of at most {MAX_DESCRIPTION_LENGTH}")
    plain = dict(metadata or {})
    if len(plain) > MAX_METADATA_KEYS:
        raise ValueError(f"metadata may have at most {MAX_METADATA_KEYS} keys")
    for key, value in plain.items():
        if not isinstance(key, str) or not key or len(key) > MAX_METADATA_KEY_LENGTH:
            raise ValueError(
                f"metadata keys must be strings of 1-{MAX_METADATA_KEY_LENGTH} characters"
            )
        if "[" in key or "]" in key:
            raise ValueError("metadata keys may not contain square brackets")
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE_LENGTH:
            raise ValueError(
                f"metadata value of {key!r} must be a string of at most"
                f" {MAX_METADATA_VALUE_LENGTH} characters"
            )
    return plain


def request_fingerprint(**parameters: object) -> str:
    """SHA-256 of the parameters as canonical JSON: what "the same request" means for an
    idempotency key."""
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
