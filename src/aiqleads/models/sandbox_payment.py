from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class SandboxPayment(Base):
    """A payment made through the sandbox gateway: the sandbox's own record, as a provider keeps
    one, so that after a crash the sandbox can still say what happened to a payment.

    Written only by `payments.gateways.sandbox`, never by the marketplace (whose ledger names
    these rows by `reference`). `request_fingerprint` is the SHA-256 of the request's
    parameters: the same idempotency key with other parameters is refused.
    """

    __tablename__ = "sandbox_payments"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refund_within_amount"
        ),
        CheckConstraint(
            "status IN ('succeeded', 'declined', 'requires_action', 'processing')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    payment_token: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    decline_code: Mapped[str | None] = mapped_column(String(64))
    decline_message: Mapped[str | None] = mapped_column(String(255))
    client_secret: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(String(1000))
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON)
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
