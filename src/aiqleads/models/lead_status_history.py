from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class LeadStatusHistory(Base):
    """Every status a lead took, appended by `leads.writes` in the transaction that changed it.

    `cause` says who changed it: "ingest:<source>" when a source reported a listing status
    (kept in `listing_status`, RESO StandardStatus), or the marketplace step ("hold", "purchase",
    "return"). The first row of a lead has `status_from` NULL.
    """

    __tablename__ = "lead_status_history"
    __table_args__ = (Index("ix_lead_status_history_lead", "lead_id", "changed_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    status_from: Mapped[str | None] = mapped_column(String(16))
    status_to: Mapped[str] = mapped_column(String(16))
    listing_status: Mapped[str | None] = mapped_column(String(24))
    cause: Mapped[str] = mapped_column(String(48))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
