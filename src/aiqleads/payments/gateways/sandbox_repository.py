"""The sandbox gateway's SQL (tables `sandbox_payments`, `sandbox_refunds`): nothing else."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.models.sandbox_payment import SandboxPayment
from aiqleads.models.sandbox_refund import SandboxRefund


async def payment_by_key(session: AsyncSession, idempotency_key: str) -> SandboxPayment | None:
    return await session.scalar(
        select(SandboxPayment).where(SandboxPayment.idempotency_key == idempotency_key)
    )


async def payment_by_reference(session: AsyncSession, reference: str) -> SandboxPayment | None:
    return await session.scalar(select(SandboxPayment).where(SandboxPayment.reference == reference))


async def insert_payment(session: AsyncSession, payment: SandboxPayment) -> None:
    """Raises IntegrityError (at flush) when the idempotency key is taken."""
    session.add(payment)
    await session.flush()


async def settle(
    session: AsyncSession,
    reference: str,
    *,
    status: str,
    decline_code: str | None,
    decline_message: str | None,
    at: datetime,
) -> bool:
    """Move a `requires_action` or `processing` payment to its final status; False when the
    payment is unknown or already final (one conditional UPDATE: racing callers settle once)."""
    result = await session.execute(
        update(SandboxPayment)
        .where(
            SandboxPayment.reference == reference,
            SandboxPayment.status.in_(("requires_action", "processing")),
        )
        .values(
            status=status, decline_code=decline_code, decline_message=decline_message, updated_at=at
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def add_refunded(
    session: AsyncSession, payment_id: int, amount_cents: int, *, at: datetime
) -> bool:
    """Add `amount_cents` to a succeeded payment's refunded total unless that would exceed the
    amount paid; False when it would. One conditional UPDATE with a row-count check, so two
    refunds racing on one payment can never refund more than was paid (on PostgreSQL the
    second waits for the first's row lock and re-checks; SQLite has one writer at a time)."""
    result = await session.execute(
        update(SandboxPayment)
        .where(
            SandboxPayment.id == payment_id,
            SandboxPayment.status == "succeeded",
            SandboxPayment.refunded_cents + amount_cents <= SandboxPayment.amount_cents,
        )
        .values(refunded_cents=SandboxPayment.refunded_cents + amount_cents, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def refund_by_key(session: AsyncSession, idempotency_key: str) -> SandboxRefund | None:
    return await session.scalar(
        select(SandboxRefund).where(SandboxRefund.idempotency_key == idempotency_key)
    )


async def refund_by_reference(session: AsyncSession, reference: str) -> SandboxRefund | None:
    return await session.scalar(select(SandboxRefund).where(SandboxRefund.reference == reference))


async def reference_of_payment(session: AsyncSession, payment_id: int) -> str:
    reference = await session.scalar(
        select(SandboxPayment.reference).where(SandboxPayment.id == payment_id)
    )
    assert reference is not None  # the foreign key guarantees it
    return reference


async def insert_refund(session: AsyncSession, refund: SandboxRefund) -> None:
    """Raises IntegrityError (at flush) when the idempotency key is taken."""
    session.add(refund)
    await session.flush()
