"""One harness per gateway, so the same scenarios run against the sandbox and Stripe.

A harness knows what differs between them: which token gives which outcome, how to make the
provider unreachable, how to count what the provider charged, how a provider signs a webhook.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Protocol

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.kit.clock import FrozenClock
from aiqleads.models.sandbox_payment import SandboxPayment
from aiqleads.payments.gateways.base import PaymentGateway, SignedWebhook
from aiqleads.payments.gateways.sandbox import SandboxGateway, SandboxToken
from aiqleads.payments.gateways.signing import signature_header
from aiqleads.payments.gateways.stripe import StripeGateway
from tests.payments import fake_stripe as fs
from tests.payments.fake_stripe import FakeStripe, Fault

SANDBOX_SECRET = "whsec_sandbox_test_secret"
FORGED_SECRET = "whsec_not_the_right_one"


class Harness(Protocol):
    name: str
    gateway: PaymentGateway
    success: str
    decline: str
    requires_action: str

    def fail_before(self) -> str:
        """Make the next payment fail before the provider does anything; the token to use."""

    def fail_after(self) -> str:
        """Make the next payment's answer get lost after the charge; the token to use."""

    async def charges(self) -> int:
        """How many payments the provider has charged."""

    async def complete_action(self, reference: str, *, succeed: bool) -> None: ...

    async def payment_webhook(
        self, reference: str, *, signed_at: datetime | None = None
    ) -> SignedWebhook: ...

    async def refund_webhook(self, refund_reference: str) -> SignedWebhook: ...

    def forge(self, payload: bytes) -> SignedWebhook:
        """The payload signed with a secret that is not the gateway's."""

    def now(self) -> datetime:
        """The time the gateway checks webhook ages against."""


class SandboxHarness:
    name = "sandbox"
    success = SandboxToken.SUCCESS.value
    decline = SandboxToken.DECLINE.value
    requires_action = SandboxToken.REQUIRES_ACTION.value

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
        self.sessions = sessions
        self.clock = clock
        self.sandbox = SandboxGateway(sessions, webhook_secret=SANDBOX_SECRET, clock=clock)
        self.gateway: PaymentGateway = self.sandbox

    def fail_before(self) -> str:
        return SandboxToken.NETWORK_ERROR.value

    def fail_after(self) -> str:
        return SandboxToken.SUCCESS_LOST_REPLY.value

    async def charges(self) -> int:
        async with self.sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(SandboxPayment)
                .where(SandboxPayment.status == "succeeded")
            )
        return int(count or 0)

    async def complete_action(self, reference: str, *, succeed: bool) -> None:
        await self.sandbox.resolve_pending(reference, succeed=succeed)

    async def payment_webhook(
        self, reference: str, *, signed_at: datetime | None = None
    ) -> SignedWebhook:
        return await self.sandbox.payment_webhook(reference, signed_at=signed_at)

    async def refund_webhook(self, refund_reference: str) -> SignedWebhook:
        return await self.sandbox.refund_webhook(refund_reference)

    def forge(self, payload: bytes) -> SignedWebhook:
        header = signature_header(payload, FORGED_SECRET, timestamp=int(self.now().timestamp()))
        return SignedWebhook(payload, {SandboxGateway.signature_header: header})

    def now(self) -> datetime:
        return self.clock.now()


class StripeHarness:
    name = "stripe"
    success = fs.SUCCESS
    decline = fs.DECLINE
    requires_action = fs.REQUIRES_ACTION

    def __init__(self, fake: FakeStripe) -> None:
        self.fake = fake
        # No client retries: each test sees what one request met.
        self.gateway: PaymentGateway = StripeGateway(
            api_key=fs.API_KEY,
            webhook_secret=fs.WEBHOOK_SECRET,
            api_base=fake.url,
            max_network_retries=0,
            timeout_seconds=10,
        )

    def fail_before(self) -> str:
        self.fake.fail_next(Fault.DROP_BEFORE)
        return self.success

    def fail_after(self) -> str:
        self.fake.fail_next(Fault.DROP_AFTER)
        return self.success

    async def charges(self) -> int:
        return len(self.fake.charged())

    async def complete_action(self, reference: str, *, succeed: bool) -> None:
        self.fake.complete_action(reference, succeed=succeed)

    async def payment_webhook(
        self, reference: str, *, signed_at: datetime | None = None
    ) -> SignedWebhook:
        intent = self.fake.intents[reference]
        event_type = {
            "succeeded": "payment_intent.succeeded",
            "requires_payment_method": "payment_intent.payment_failed",
            "requires_action": "payment_intent.requires_action",
        }[intent["status"]]
        return self._signed(self.fake.event(event_type, intent), signed_at, fs.WEBHOOK_SECRET)

    async def refund_webhook(self, refund_reference: str) -> SignedWebhook:
        refund = self.fake.refunds[refund_reference]
        return self._signed(self.fake.event("refund.created", refund), None, fs.WEBHOOK_SECRET)

    def forge(self, payload: bytes) -> SignedWebhook:
        return self._signed(payload, None, FORGED_SECRET)

    def now(self) -> datetime:
        return datetime.now(UTC)  # the stripe package checks ages against the system clock

    def _signed(self, payload: bytes, signed_at: datetime | None, secret: str) -> SignedWebhook:
        when = int((signed_at or self.now()).timestamp())
        header = signature_header(payload, secret, timestamp=when)
        return SignedWebhook(payload, {"Stripe-Signature": header})


@pytest.fixture(params=["sandbox", "stripe"])
async def harness(
    request: pytest.FixtureRequest,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    fake_stripe: FakeStripe,
) -> AsyncIterator[Harness]:
    made: SandboxHarness | StripeHarness = (
        SandboxHarness(sessions, clock)
        if request.param == "sandbox"
        else StripeHarness(fake_stripe)
    )
    yield made
    await made.gateway.aclose()
