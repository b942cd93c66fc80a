"""What the operators' source monitoring endpoints answer: `aiqleads sources report --json`'s
report, one per source."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ProfileOut(BaseModel):
    """What a source gave from `window_start` to `computed_at`: `fields` are the key fields
    (shares 0-1: `owner_phone`, `zip_only`, `quarantined`, `quarantine:<reason>`; asking-price
    percentiles in cents: `price_p10`, `price_p50`, `price_p90`; None when there was nothing to
    measure), `coverage` the share of leads that have each lead field."""

    computed_at: datetime
    window_start: datetime
    leads: int
    quarantined: int
    fields: dict[str, float | None]
    coverage: dict[str, float]


class FieldDriftOut(BaseModel):
    """One key field, latest against baseline: `drift` is the absolute difference for a share,
    |log2(latest / baseline)| for a price; `exceeded` when it passed `threshold`."""

    field: str
    baseline: float | None
    latest: float | None
    drift: float | None  # None: one side has no value
    threshold: float
    exceeded: bool


class SourceReportOut(BaseModel):
    """A source's latest profile against its baseline. `sufficient` false: too few records on
    one side (AIQ_SOURCES__MIN_RECORDS) to judge, or no baseline yet (`baseline` null)."""

    source: str
    drifted: bool
    sufficient: bool
    latest: ProfileOut
    baseline: ProfileOut | None
    drifts: list[FieldDriftOut]
