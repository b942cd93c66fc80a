from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, UTCDateTime


class SourceProfileRow(Base):
    """A source's profile (`aiqleads.sources` owns the table): `role` is `baseline` (what the
    source normally looks like, set by an operator or by the first profile) or `latest` (the
    last one computed). `fields` maps each key field to its value (shares 0-1, prices in
    cents); `coverage` each lead field to the share of leads that have it."""

    __tablename__ = "source_profiles"
    __table_args__ = (CheckConstraint("role IN ('baseline', 'latest')", name="role"),)

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    leads: Mapped[int] = mapped_column(Integer)
    quarantined: Mapped[int] = mapped_column(Integer)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    coverage: Mapped[dict[str, Any]] = mapped_column(JSON)
