from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, UTCDateTime


class DataVersion(Base):
    """A counter per scope (a metro slug, or "other" for leads outside every metro), bumped by
    every write that changes the leads in it. Cache keys include it, so a change invalidates
    only the answers about its own metro. The counter is kept in shards, one row each: a scope's
    version is the sum of its shards' `version`, and a writer bumps whichever shard no other
    transaction has locked (`leads.versions`), so writers of one metro do not queue on one row."""

    __tablename__ = "data_versions"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
