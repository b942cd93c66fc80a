"""Answers of the market routes."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from aiqleads.market.loaders import SeriesPoint


class PointOut(BaseModel):
    source: str
    region_kind: str
    region: str
    measure: str
    month: date
    value: float

    @classmethod
    def of(cls, p: SeriesPoint) -> PointOut:
        return cls(
            source=p.source,
            region_kind=p.region_kind,
            region=p.region,
            measure=p.measure,
            month=p.month,
            value=p.value,
        )


class RegionMarketOut(BaseModel):
    """A region's stored series (every source) and its market context, for the operator."""

    region_kind: str
    region: str
    month: date
    context: dict[str, float]
    series: list[PointOut]


class ZipMarketOut(BaseModel):
    """A ZIP's market for an agent. `covered` is false when the leads an agent may count in the
    ZIP number fewer than `min_leads`: then every value computed from leads is null and
    `lead_series` is empty. `series`: Zillow and Redfin series of the ZIP, its metro and the
    nation (published data, no lead in them)."""

    zip: str
    metro: str | None
    month: date
    min_leads: int
    covered: bool
    context: dict[str, float | None]
    series: list[PointOut]
    lead_series: list[PointOut]
