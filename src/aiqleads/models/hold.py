from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime

OPEN_HOLD = "ended_at IS NULL"


class Hold(Base):
    """One hold an agent took on a lead: the price fixed at that moment, until when, how many
    extensions it used, and how it ended. Owned by `aiqleads.cart`.

    Which agent holds a lead now is the lead's `held_by` / `held_until` (taken with one
    conditional UPDATE of the lead); this row is the hold's own record. A hold is active while
    `ended_at` is NULL and `held_until` is in the future.
    """

    __tablename__ = "holds"
    __table_args__ = (
        Index("ix_holds_account_active", "account_id", "ended_at", "held_until"),
        Index("ix_holds_lead", "lead_id", "taken_at"),
        # Open records only (migration 0026): closing a lead's open record, the sweeper's reads.
        Index(
            "ix_holds_lead_open",
            "lead_id",
            sqlite_where=text(OPEN_HOLD),
            postgresql_where=text(OPEN_HOLD),
        ),
        Index(
            "ix_holds_open_until",
            "held_until",
            sqlite_where=text(OPEN_HOLD),
            postgresql_where=text(OPEN_HOLD),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    held_until: Mapped[datetime] = mapped_column(UTCDateTime)
    extensions_used: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(16))  # released, expired, purchased, lost
