"""Payment gateways behind one interface (`base.PaymentGateway`): the sandbox and Stripe.

`build_gateway(settings.payments, sessions=…)` makes the configured one; everything else codes
against `PaymentGateway` and the value types and errors re-exported here.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import PaymentSettings
from aiqleads.kit.clock import Clock
from aiqleads.payments.gateways.base import (
    EventType,
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
    RefundStatus,
    RejectionCode,
    SignedWebhook,
)
from aiqleads.payments.gateways.sandbox import SandboxGateway

__all__ = [
    "EventType",
    "GatewayError",
    "GatewayEvent",
    "GatewayRejected",
    "GatewayUnavailable",
    "InvalidSignature",
    "InvalidWebhook",
    "PaymentGateway",
    "PaymentResult",
    "PaymentStatus",
    "RefundResult",
    "RefundStatus",
    "RejectionCode",
    "SignedWebhook",
    "build_gateway",
]


def build_gateway(
    settings: PaymentSettings,
    *,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock | None = None,
) -> PaymentGateway:
    """The gateway `settings.gateway` names. `sessions` is for the sandbox's own tables;
    `clock` for the sandbox's timestamps and webhook ages (Stripe keeps its own time).
    Close it with `await gateway.aclose()` when the application stops."""
    if settings.gateway == "stripe":
        # Imported here: the stripe package takes a noticeable time to import, and the default
        # (sandbox) never needs it.
        from aiqleads.payments.gateways.stripe import StripeGateway

        assert settings.stripe_api_key is not None  # PaymentSettings refuses stripe without
        assert settings.stripe_webhook_secret is not None
        return StripeGateway(
            api_key=settings.stripe_api_key.get_secret_value(),
            webhook_secret=settings.stripe_webhook_secret.get_secret_value(),
            api_base=settings.stripe_api_base,
            max_network_retries=settings.stripe_max_network_retries,
            timeout_seconds=settings.stripe_timeout_seconds,
        )
    return SandboxGateway(
        sessions,
        webhook_secret=settings.sandbox_webhook_secret.get_secret_value(),
        clock=clock,
    )
