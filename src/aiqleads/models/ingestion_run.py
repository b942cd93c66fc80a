from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class IngestionRun(Base):
    """One run of the ingestion pipeline (`aiqleads ingest`, `crawl`, the demo), owned by
    `aiqleads.ingestion.runs`: written when it starts, after each committed batch and when it
    ends, whether it succeeded or failed.

    The counts are the run's `IngestSummary` (ingestion/summary.py) so far: records read from
    `documents`, the outcomes of the stored ones, the quarantined ones by reason code;
    `notes` and `stages` (seconds, records in, dropped per stage) as the summary has them.
    `outcome` `failed` carries the error's class and message. A run left `running` with no
    `finished_at` is in progress or was killed: `progress_at` (the last committed batch)
    stops moving, and `host` and `pid` name the process to look for.
    """

    __tablename__ = "ingestion_runs"
    __table_args__ = (
        Index("ix_ingestion_runs_source_id", "source", "id"),
        CheckConstraint("outcome IN ('running', 'succeeded', 'failed')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    metro: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    progress_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    documents: Mapped[int] = mapped_column(Integer, default=0)
    read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    quarantined_by_reason: Mapped[dict[str, int]] = mapped_column(JSON)
    notes: Mapped[dict[str, int]] = mapped_column(JSON)
    stages: Mapped[dict[str, Any]] = mapped_column(JSON)
    error_class: Mapped[str | None] = mapped_column(String(200))
    error_message: Mapped[str | None] = mapped_column(String(2000))
