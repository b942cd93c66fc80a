from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class LeadPriceHistory(Base):
    """An asking price a source showed for a lead: appended at first sight and on each change.

    Unique per (lead, source, time, price) so two runs racing over one file record one row.
    """

    __tablename__ = "lead_price_history"
    __table_args__ = (
        UniqueConstraint(
            "lead_id",
            "source",
            "observed_at",
            "asking_price_cents",
            name="uq_lead_price_history_obs",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    asking_price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
