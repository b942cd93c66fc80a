from __future__ import annotations

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK


class GeoOfficeTally(Base):
    """A signed count of the leads naming a listing office or agent per key (resolution-7
    region, office as `COALESCE(listing_office, listing_agent)`, status with held counted as
    available), appended by database triggers on `leads` (migration 0039) and compacted by
    `geo.tasks`: the sum of a key's rows is the number of leads with that key."""

    __tablename__ = "geo_office_tallies"
    __table_args__ = (Index("ix_geo_office_tallies_region", "h3_r7", "status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    h3_r7: Mapped[int] = mapped_column(BigInteger)
    office: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    leads: Mapped[int] = mapped_column(BigInteger)
