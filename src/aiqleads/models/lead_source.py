from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class LeadSource(Base):
    """One source's sighting of a lead (provenance). A merged lead keeps one row per source.

    `content_hash` is the hash of the normalized record this source last gave: re-ingesting the
    same content is recognised here and writes nothing. `asking_price_cents` is the price this
    source last showed, so a change from it lands in the price history.
    """

    __tablename__ = "lead_sources"
    __table_args__ = (UniqueConstraint("source", "source_ref", name="uq_lead_sources_source"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str] = mapped_column(String(128))
    source_url: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    asking_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    match_rule: Mapped[str] = mapped_column(String(16))  # source_ref, address, phone, proximity
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)  # last time its content changed
