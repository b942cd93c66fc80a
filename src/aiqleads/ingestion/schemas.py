"""What the operators' quarantine endpoints take and answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


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

    id: int | None = Field(default=None, ge=1)
    source: str | None = Field(default=None, min_length=1, max_length=32)


class RetryOut(BaseModel):
    retried: int
    resolved: int
    still_failing: int
    not_retryable: int  # parser rejects and unreadable documents: re-ingest their files
    outcomes: dict[str, int]
