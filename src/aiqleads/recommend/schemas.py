"""What the recommendation routes take and answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, field_validator

from aiqleads.leads.filters import MAX_DOLLARS, MAX_ZIPS
from aiqleads.leads.schemas import LeadPreview
from aiqleads.models.enums import LeadKind


class PreferencesIn(BaseModel):
    """An agent's stated preferences; every field optional ("no preference"). A territory is
    ZIPs, H3 cells (hex, resolution 5-8) or a centre with a radius; price in dollars (asking
    price: per month for rents). Numbers are strict: `false` is not a bedroom count nor a
    longitude, and "5" is not a price (an integer is a float, though)."""

    model_config = ConfigDict(extra="forbid")

    zip_codes: list[str] = Field(default_factory=list, max_length=MAX_ZIPS)
    h3_cells: list[str] = Field(default_factory=list, max_length=200)
    center_lat: StrictFloat | None = Field(default=None, ge=-90, le=90)
    center_lon: StrictFloat | None = Field(default=None, ge=-180, le=180)
    radius_m: StrictFloat | None = Field(default=None, gt=0, le=100_000)
    price_min: StrictInt | None = Field(default=None, ge=0, le=MAX_DOLLARS)
    price_max: StrictInt | None = Field(default=None, ge=0, le=MAX_DOLLARS)
    kinds: list[LeadKind] = Field(default_factory=list)
    bedrooms_min: StrictInt | None = Field(default=None, ge=0, le=50)
    bedrooms_max: StrictInt | None = Field(default=None, ge=0, le=50)

    @field_validator("zip_codes")
    @classmethod
    def _zips(cls, value: list[str]) -> list[str]:
        for z in value:
            if len(z) != 5 or not z.isdigit():
                raise ValueError(f"{z!r} is not a 5-digit ZIP")
        return sorted(set(value))


class StatedOut(BaseModel):
    zip_codes: list[str]
    h3_cells: list[str]
    center_lat: float | None
    center_lon: float | None
    radius_m: float | None
    price_min: int | None
    price_max: int | None
    kinds: list[str]
    bedrooms_min: int | None
    bedrooms_max: int | None
    updated_at: datetime | None


class LearnedOut(BaseModel):
    """What the agent's views, holds and purchases say (preview cells and ZIPs only)."""

    events: int
    zip_codes: list[str]
    h3_cells_r7: list[str]
    kinds: dict[str, float]
    price_min: int | None
    price_max: int | None
    bedrooms: float | None


class PreferencesOut(BaseModel):
    stated: StatedOut
    learned: LearnedOut


class RecommendedLead(LeadPreview):
    """A lead's preview, its rank in the list (1 first) and why, in words."""

    rank: int
    reason: str


class RecommendationList(BaseModel):
    items: list[RecommendedLead]
    next_cursor: str | None = None
    model_version: str
