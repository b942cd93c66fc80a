"""What only the sandbox does: its tokens, its own store, races on one key, its test controls."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.db.engine import create_engine, session_factory
from aiqleads.kit.clock import FrozenClock
from aiqleads.models.sandbox_payment import SandboxPayment
from aiqleads.payments.gateways import (
    EventType,
    GatewayRejected,
    GatewayUnavailable,
    InvalidSignature,
    PaymentStatus,
    RejectionCode,
)
from aiqleads.payments.gateways.sandbox import SandboxGateway, SandboxToken
from tests.conftest import Backend
from tests.payments.gateways.conftest import SANDBOX_SECRET


@pytest.fixture
def sandbox(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> SandboxGateway:
    return SandboxGateway(sessions, webhook_secret=SANDBOX_SECRET, clock=clock)


def _key() -> str:
    return f"k-{uuid.uuid4()}"


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(SandboxPayment)) or 0)


async def test_no_token_means_tok_success(sandbox: SandboxGateway) -> None:
    paid = await sandbox.create_payment(amount_cents=1000, currency="USD", idempotency_key=_key())
    assert paid.status is PaymentStatus.SUCCEEDED
    assert paid.reference.startswith("sbx_pi_")


async def test_an_unknown_token_is_refused_and_records_nothing(
    sandbox: SandboxGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    with pytest.raises(GatewayRejected, match="tok_success") as caught:
        await sandbox.create_payment(
            amount_cents=1000, currency="USD", idempotency_key=_key(), payment_token="4242"
        )
    assert caught.value.code is RejectionCode.INVALID_REQUEST
    assert await _rows(sessions) == 0


async def test_network_error_records_nothing_even_when_repeated(
    sandbox: SandboxGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    key = _key()
    for _ in range(2):
        with pytest.raises(GatewayUnavailable, match="nothing was charged"):
            await sandbox.create_payment(
                amount_cents=1000,
                currency="USD",
                idempotency_key=key,
                payment_token=SandboxToken.NETWORK_ERROR,
            )
    assert await _rows(sessions) == 0


async def test_payments_survive_a_restart(
    sandbox: SandboxGateway, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a payment whose answer was lost, then the process dies
    key = _key()
    with pytest.raises(GatewayUnavailable):
        await sandbox.create_payment(
            amount_cents=1000,
            currency="USD",
            idempotency_key=key,
            payment_token=SandboxToken.SUCCESS_LOST_REPLY,
        )
    # When a new process asks a new gateway object with the same key
    reborn = SandboxGateway(sessions, webhook_secret=SANDBOX_SECRET, clock=clock)
    replay = await reborn.create_payment(
        amount_cents=1000,
        currency="USD",
        idempotency_key=key,
        payment_token=SandboxToken.SUCCESS_LOST_REPLY,
    )
    # Then it answers the payment that was made, once
    assert replay.status is PaymentStatus.SUCCEEDED
    assert (await reborn.retrieve_payment(replay.reference)).status is PaymentStatus.SUCCEEDED
    assert await _rows(sessions) == 1


async def test_processing_settles_either_way(sandbox: SandboxGateway) -> None:
    first = await sandbox.create_payment(
        amount_cents=1000,
        currency="USD",
        idempotency_key=_key(),
        payment_token=SandboxToken.PROCESSING,
    )
    assert first.status is PaymentStatus.PROCESSING
    delivery = await sandbox.payment_webhook(first.reference)
    assert sandbox.verify_webhook(delivery.payload, delivery.headers).type is EventType.OTHER
    settled = await sandbox.resolve_pending(first.reference, succeed=False)
    assert (settled.status, settled.decline_code) == (PaymentStatus.DECLINED, "card_declined")
    # A final payment cannot be settled again
    with pytest.raises(ValueError, match="already declined"):
        await sandbox.resolve_pending(first.reference, succeed=True)
    with pytest.raises(GatewayRejected):
        await sandbox.resolve_pending("sbx_pi_unknown")


async def test_racing_requests_with_one_key_charge_once(
    sandbox: SandboxGateway, sessions: async_sessionmaker[AsyncSession]
) -> None:
    key = _key()
    results = await asyncio.gather(
        *(
            sandbox.create_payment(amount_cents=1000, currency="USD", idempotency_key=key)
            for _ in range(6)
        )
    )
    assert len({r.reference for r in results}) == 1
    assert await _rows(sessions) == 1


async def test_racing_refunds_never_exceed_the_amount_paid(sandbox: SandboxGateway) -> None:
    paid = await sandbox.create_payment(amount_cents=1000, currency="USD", idempotency_key=_key())

    async def refund_300() -> int:
        try:
            await sandbox.refund(reference=paid.reference, amount_cents=300, idempotency_key=_key())
        except GatewayRejected as exc:
            assert exc.code is RejectionCode.REFUND_EXCEEDS_PAYMENT
            return 0
        return 300

    refunded = await asyncio.gather(*(refund_300() for _ in range(5)))
    assert sum(refunded) == 900


async def test_one_refund_sent_twice_at_once_is_made_once_and_answered_twice(
    sandbox: SandboxGateway,
) -> None:
    # Given a paid payment
    paid = await sandbox.create_payment(amount_cents=1000, currency="USD", idempotency_key=_key())
    key = _key()

    # When the same whole refund (one idempotency key) is sent five times at once
    async def refund_all() -> str:
        done = await sandbox.refund(
            reference=paid.reference, amount_cents=1000, idempotency_key=key
        )
        return done.reference

    references = await asyncio.gather(*(refund_all() for _ in range(5)))

    # Then there is one refund, and every request gets it (none "exceeds the payment")
    assert len(set(references)) == 1
    again = await sandbox.refund(reference=paid.reference, amount_cents=1000, idempotency_key=key)
    assert again.reference == references[0]


async def test_another_secret_refuses_the_sandbox_webhooks(
    sandbox: SandboxGateway, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    paid = await sandbox.create_payment(amount_cents=1000, currency="USD", idempotency_key=_key())
    delivery = await sandbox.payment_webhook(paid.reference, event_id="evt_sbx_fixed")
    assert sandbox.verify_webhook(delivery.payload, delivery.headers).event_id == "evt_sbx_fixed"
    other = SandboxGateway(sessions, webhook_secret="whsec_other", clock=clock)
    with pytest.raises(InvalidSignature):
        other.verify_webhook(delivery.payload, delivery.headers)


async def test_a_store_that_fails_is_unavailable(backend: Backend, tmp_path: Path) -> None:
    # Given a sandbox whose database has no sandbox tables (never migrated)
    if backend.name != "sqlite":
        pytest.skip("one engine is enough to show it")
    engine = create_engine(backend.settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db"))
    try:
        broken = SandboxGateway(session_factory(engine), webhook_secret=SANDBOX_SECRET)
        # Then its answers are "outcome unknown", not a database error
        with pytest.raises(GatewayUnavailable, match="store unavailable"):
            await broken.create_payment(amount_cents=1000, currency="USD", idempotency_key="k")
        with pytest.raises(GatewayUnavailable):
            await broken.retrieve_payment("sbx_pi_x")
    finally:
        await engine.dispose()


def test_a_sandbox_needs_a_webhook_secret() -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        SandboxGateway(async_sessionmaker(), webhook_secret="")


async def test_works_with_sessions_that_expire_on_commit(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    # Given the SQLAlchemy default session factory (objects expire at commit)
    sandbox = SandboxGateway(async_sessionmaker(engine), webhook_secret=SANDBOX_SECRET, clock=clock)
    paid = await sandbox.create_payment(amount_cents=1000, currency="USD", idempotency_key="e1")
    replay = await sandbox.create_payment(amount_cents=1000, currency="USD", idempotency_key="e1")
    refund = await sandbox.refund(reference=paid.reference, amount_cents=10, idempotency_key="r1")
    waiting = await sandbox.create_payment(
        amount_cents=1000,
        currency="USD",
        idempotency_key="e2",
        payment_token=SandboxToken.REQUIRES_ACTION,
    )
    settled = await sandbox.resolve_pending(waiting.reference)
    assert replay == paid
    assert refund.payment_reference == paid.reference
    assert settled.status is PaymentStatus.SUCCEEDED
