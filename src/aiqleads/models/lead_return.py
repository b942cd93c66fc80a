from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime

# A purchase has at most one return that is not rejected: requested, approved (refund under
# way) or refunded. After a rejection the buyer may ask again within the window.
OPEN_RETURN = "status IN ('requested', 'approved', 'refunded')"


class LeadReturn(Base):
    """A buyer's request to return a lead it bought, and what became of it. Owned by
    `aiqleads.purchases`.

    status: requested → approved → refunded, or requested → rejected. `approved` means an admin
    accepted it and the refund is under way (or failed to reach the gateway: a retry of the
    approval, with the same idempotency key, finishes it). The refund is the price paid
    (`amount_cents`, `currency`, copied from the purchase when the return is asked);
    `refund_reference` is the gateway's id of it. `refund_claimed_at`: when an approval last
    set out to refund it; a claim younger than `purchases.refunds.CLAIM` keeps a second approval
    from calling the gateway at the same time (a crashed one lapses, a failed one is released).
    """

    __tablename__ = "returns"
    __table_args__ = (
        Index(
            "uq_returns_open_purchase",
            "purchase_id",
            unique=True,
            sqlite_where=text(OPEN_RETURN),
            postgresql_where=text(OPEN_RETURN),
        ),
        Index("ix_returns_account_requested", "account_id", "requested_at"),
        Index("ix_returns_status_requested", "status", "requested_at"),
        CheckConstraint(
            "status IN ('requested', 'approved', 'rejected', 'refunded')", name="status"
        ),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))  # the buyer
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))  # wrong_number, listed_with_agent, …
    note: Mapped[str | None] = mapped_column(Text)  # the buyer's words
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    refund_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refund_reference: Mapped[str | None] = mapped_column(String(255))
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
