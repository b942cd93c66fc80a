from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK


class MarketSeries(Base):
    """Monthly market series, one value per (source, region, measure, month). Owned by
    `aiqleads.market.repository`; loading a file twice updates its rows, never duplicates them.

    `source`: "zillow", "redfin" or "leads" (computed from the leads table). `region_kind`: "zip",
    "metro", "county", "city" or "national". `region`: the ZIP, our metro slug
    (`aiqleads.metros`) where the source's region maps to one, else the source's own name.
    `month`: the first day of the month the value describes."""

    __tablename__ = "market_series"
    __table_args__ = (
        UniqueConstraint(
            "source", "region_kind", "region", "measure", "month", name="uq_market_series_key"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    region_kind: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(120))
    measure: Mapped[str] = mapped_column(String(64))
    month: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
