from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK


class GeoTally(Base):
    """A signed count of leads per key (metro, ZIP, preview cell and centre, status with held
    counted as available, bought, listed, and the ZCTA of the exact point since 0040), appended
    by database triggers on `leads` and `purchases` (migrations 0035, 0040) and compacted by
    `geo.tasks`: the sum of a key's rows is the number of leads with that key. Missing values
    are sentinels: '' for metro, ZIP and ZCTA, -1 for the cell, 1000 for the preview latitude
    and longitude. `zcta` is finer than the preview cell: admins' reads only."""

    __tablename__ = "geo_tallies"
    __table_args__ = (Index("ix_geo_tallies_metro", "metro", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    metro: Mapped[str] = mapped_column(String(64))
    zip_code: Mapped[str] = mapped_column(String(5))
    h3_r8: Mapped[int] = mapped_column(BigInteger)
    preview_latitude: Mapped[float] = mapped_column(Float)
    preview_longitude: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    bought: Mapped[bool] = mapped_column(Boolean)
    listed: Mapped[bool] = mapped_column(Boolean)
    leads: Mapped[int] = mapped_column(BigInteger)
    zcta: Mapped[str] = mapped_column(String(5), server_default="")
