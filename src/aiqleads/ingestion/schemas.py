"""What the operators' ingestion endpoints (quarantine, runs) take and answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from aiqleads.models.enums import RunOutcome


class QuarantineOut(BaseModel):
    """A record ingestion could not use: where it came from, at which stage, and why (`reason`
    is the first reason's stable code, `reasons` every reason in words). The raw payload stays
    in the database: it may hold owner contacts."""

    id: int
    source: str
    source_ref: str | None
    metro: str | None
    stage: str
    reason: str
    reasons: list[str]
    attempts: int
    created_at: datetime
    retried_at: datetime | None
    resolved_at: datetime | None


class QuarantinePage(BaseModel):
    items: list[QuarantineOut]
    next_after: int | None  # pass as `after` for the next page


class RetryIn(BaseModel):
    """Which rows to run through normalize → store again: one (`id`), a source's, or all."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    source: str | None = Field(default=None, min_length=1, max_length=32)


class RetryOut(BaseModel):
    retried: int
    resolved: int
    still_failing: int
    not_retryable: int  # parser rejects and unreadable documents: re-ingest their files
    outcomes: dict[str, int]


class StageOut(BaseModel):
    seconds: float  # time spent in the stage
    records: int  # records that entered it
    dropped: int  # of which it quarantined


class IngestionRunOut(BaseModel):
    """One run of the ingestion pipeline (`aiqleads ingest`, `crawl`, the demo) and its
    summary's counts, the numbers `aiqleads ingest --json` prints: `read` counts every record
    and parser reject found; `created`, `updated`, `unchanged`, `merged` the stored records by
    outcome; `quarantined` and `quarantined_by_reason` the records sent to the quarantine.

    `outcome`: `succeeded`; `failed`, with `error_class` and `error_message`, and the counts of
    the batches committed before the failure (they are kept; rerunning the input completes
    them); or `running`, with no `finished_at`: in progress, or its process was killed. A
    live run moves `progress_at` after every batch it commits (2,000 records by default), so a
    `progress_at` that stopped moving, and no process `pid` on `host`, mean it was killed.
    """

    id: int
    source: str
    metro: str | None
    outcome: RunOutcome
    started_at: datetime
    progress_at: datetime  # the start, then the last committed batch
    finished_at: datetime | None
    seconds: float | None  # from start to finish; None while running
    host: str
    pid: int
    documents: int
    read: int
    created: int
    updated: int
    unchanged: int
    merged: int
    quarantined: int
    quarantined_by_reason: dict[str, int]
    notes: dict[str, int]
    stages: dict[str, StageOut]
    error_class: str | None
    error_message: str | None


class IngestionRunPage(BaseModel):
    items: list[IngestionRunOut]
    next_before: int | None  # pass as `before` for the next (older) page; None: no more
