from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class Order(Base):
    """One checkout attempt of an account's held leads, paid through a gateway. Owned by
    `aiqleads.checkout`. `(account_id, idempotency_key)` is unique: the same checkout sent twice
    is one order, charged once."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key", name="uq_orders_idempotency"),
        Index("ix_orders_status_created", "status", "created_at"),
        Index("ix_orders_payment_reference", "payment_reference"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    gateway: Mapped[str] = mapped_column(String(16))
    # The gateway's token for the payment method (never card data): a repeated call with the
    # order's idempotency key must carry the same parameters.
    payment_token: Mapped[str | None] = mapped_column(String(255))
    payment_reference: Mapped[str | None] = mapped_column(String(255))
    decline_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
