from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class Quarantine(Base):
    """A record (or a whole document) ingestion could not use, kept with the reasons.

    `raw` holds what is needed to try again: a RawRecord's fields for record rows, the parser's
    payload for parser rejects, the name, size and first bytes for unreadable documents.
    `payload_hash` makes re-ingesting the same bad input a no-op instead of a second row.
    """

    __tablename__ = "quarantine"
    __table_args__ = (
        UniqueConstraint("source", "payload_hash", name="uq_quarantine_payload"),
        Index("ix_quarantine_source_resolved", "source", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str | None] = mapped_column(String(128))
    metro: Mapped[str | None] = mapped_column(String(32))  # the metro the run was declared for
    stage: Mapped[str] = mapped_column(String(16))  # parse, normalize, validate
    reason: Mapped[str] = mapped_column(String(64))  # the first reason's stable code
    reasons: Mapped[list[str]] = mapped_column(JSON)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retried_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
