from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, UTCDateTime


class DataVersion(Base):
    """A counter per scope (a metro slug, or "other" for leads outside every metro), bumped by
    every write that changes the leads in it. Cache keys include it, so a change invalidates
    only the answers about its own metro."""

    __tablename__ = "data_versions"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
