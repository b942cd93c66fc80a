from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class LedgerEntry(Base):
    """Every money movement, append-only: one row per state a transaction reaches. Owned by
    `aiqleads.payments.ledger`.

    A transaction (`txn`, e.g. "payment:pi_123") is an order, a payment or a refund; its states
    go pending → completed | failed, and completed → refunded; nothing else. The database
    enforces it (triggers of migration 0009): rows are never updated or deleted, a state is
    recorded once per transaction, and only those transitions are accepted.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("txn", "state", name="uq_ledger_entries_txn_state"),
        Index("ix_ledger_entries_order", "order_id"),
        Index("ix_ledger_entries_txn", "txn", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    txn: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    gateway: Mapped[str] = mapped_column(String(16))
    gateway_reference: Mapped[str | None] = mapped_column(String(255))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
