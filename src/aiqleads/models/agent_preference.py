from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class AgentPreference(Base):
    """What an agent stated it wants (`aiqleads.recommend.repository` owns the table): its
    territory as ZIPs, H3 cells (hex, resolution 5-8) or a centre and radius in metres; an
    asking-price range in cents; lead kinds; a bedrooms range. Empty lists and NULLs mean "no
    preference". Learned preferences are computed from the event log, never stored here."""

    __tablename__ = "agent_preferences"

    account_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    zip_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    h3_cells: Mapped[list[str]] = mapped_column(JSON, default=list)
    center_latitude: Mapped[float | None] = mapped_column(Float)
    center_longitude: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[float | None] = mapped_column(Float)
    price_min_cents: Mapped[int | None] = mapped_column(BigInteger)
    price_max_cents: Mapped[int | None] = mapped_column(BigInteger)
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    bedrooms_min: Mapped[int | None] = mapped_column(Integer)
    bedrooms_max: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
