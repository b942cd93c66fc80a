"""What the catalog answers. A preview and a full record are different types, so a preview
cannot carry the exact address, point or owner contact by accident."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from aiqleads.errors import InvalidInput
from aiqleads.kit.clock import as_utc
from aiqleads.kit.iso import IsoDateTime
from aiqleads.leads.filters import MAX_BBOX_DEGREES, MAX_DOLLARS, MAX_ZIPS, Area, BBox, LeadFilter
from aiqleads.leads.query import SortKey
from aiqleads.metros import METROS, UnknownMetroError, get_metro
from aiqleads.models.enums import LeadKind, LeadStatus

_NUMBER = r"-?\d{1,3}(\.\d+)?"
# The metros' slugs, stated in the API description (an unknown one is a 422 naming them).
MetroSlug = Annotated[str, Field(max_length=40, json_schema_extra={"enum": sorted(METROS)})]
# Spaces around the numbers are allowed (people type "-122.4, 47.5, …"); read without them.
_BBOX = rf"^ *{_NUMBER} *(, *{_NUMBER} *){{3}}$"
_BBOX_FORM = re.compile(_BBOX)


def _bbox_text(value: Any) -> Any:
    """The box without its spaces; another form is refused with the form it should have, not
    the pattern's regular expression."""
    if not isinstance(value, str) or len(value) > 100:
        return value  # the type and the length are the declared checks' to refuse
    if not _BBOX_FORM.match(value):
        raise ValueError(
            "must be min_lon,min_lat,max_lon,max_lat: four decimal numbers separated by commas"
        )
    return value.replace(" ", "")


# Four decimal numbers; their ranges and order are checked by `to_filter` (a 422 naming bbox).
BBoxText = Annotated[str, Field(max_length=100, pattern=_BBOX), BeforeValidator(_bbox_text)]


class LeadFilterParams(BaseModel):
    """The lead filters as query parameters, shared by the catalog and every map layer.

    Bounds pydantic can state are declared here, so FastAPI answers 422 naming the field;
    checks across fields raise `InvalidInput` from `to_filter`.
    """

    model_config = ConfigDict(extra="forbid")

    metro: MetroSlug | None = Field(default=None, description="metro slug")
    bbox: BBoxText | None = Field(
        default=None, description="min_lon,min_lat,max_lon,max_lat (WGS84, decimal degrees)"
    )
    zip: list[str] = Field(
        default_factory=list, max_length=MAX_ZIPS, description="repeatable 5-digit ZIP"
    )
    city: str | None = Field(default=None, min_length=1, max_length=100, description="any case")
    kind: list[LeadKind] = Field(default_factory=list)
    status: list[LeadStatus] = Field(default_factory=list)
    price_min: int | None = Field(
        default=None, ge=0, le=MAX_DOLLARS, description="asking price, USD"
    )
    price_max: int | None = Field(
        default=None, ge=0, le=MAX_DOLLARS, description="asking price, USD"
    )
    beds_min: int | None = Field(default=None, ge=0, le=50)
    baths_min: float | None = Field(default=None, ge=0, le=50)
    listed_since: IsoDateTime | None = None

    def to_filter(self, *, max_bbox_degrees: float = MAX_BBOX_DEGREES) -> LeadFilter:
        """The filter; raises InvalidInput naming the field for an unknown metro, a malformed
        or oversized bbox, a bad ZIP or an inverted price range."""
        try:
            metro = get_metro(self.metro) if self.metro is not None else None
        except UnknownMetroError as exc:
            raise InvalidInput("metro", str(exc)) from None
        bbox = BBox.parse(self.bbox, max_degrees=max_bbox_degrees) if self.bbox else None
        return LeadFilter(
            area=Area(metro=metro, bbox=bbox),
            zips=tuple(sorted(set(self.zip))),
            city=self.city,
            kinds=tuple(sorted(set(self.kind))),
            statuses=tuple(sorted(set(self.status))),
            price_min_cents=None if self.price_min is None else self.price_min * 100,
            price_max_cents=None if self.price_max is None else self.price_max * 100,
            beds_min=self.beds_min,
            baths_min=self.baths_min,
            listed_since=None if self.listed_since is None else as_utc(self.listed_since),
        )


class CatalogParams(LeadFilterParams):
    sort: SortKey = Field(default=SortKey.NEWEST, description="a field, '-' first for descending")
    limit: int | None = Field(default=None, ge=1, description="page size")
    cursor: str | None = Field(default=None, max_length=2000, description="from next_cursor")


class MoneyOut(BaseModel):
    cents: int
    currency: str


class ApproxLocation(BaseModel):
    """The H3 cell (resolution 8, about 0.7 km²) of the lead's point, and the cell's centre;
    `precision` says what that point is: `exact` (the source's coordinates or its geocoded
    address: the lead lies in the cell) or `zip_centroid` (the lead is known only to its ZIP:
    the cell holds the ZIP's centre, and the lead may lie anywhere in the ZIP). Map layers that
    need real places (clusters, the square grid) leave `zip_centroid` leads out and count them."""

    h3_cell: str
    resolution: int
    center_lat: float
    center_lon: float
    precision: str


class PropertyFacts(BaseModel):
    property_type: str | None
    bedrooms: int | None
    bathrooms: float | None
    living_area_sqft: int | None
    lot_sqft: int | None
    year_built: int | None


class PriceFactorsOut(BaseModel):
    """How a lead's list price was made (DESIGN.md section 2): list_cents = clamp(base × quality
    × demand × market); the agent pays it less the tier's discount. On a full record (its
    buyer's, or an admin's) they are the factors of today's list price, which moves after a
    sale, and `tier_discount_percent` is null: the record's `price` is what the buyer paid (for
    an admin, the list price)."""

    base_cents: int
    quality: float
    demand: float
    market: float
    list_cents: int
    tier_discount_percent: int | None


class LeadPreview(BaseModel):
    access: Literal["preview"] = "preview"
    id: uuid.UUID
    kind: LeadKind
    status: LeadStatus
    city: str | None
    state: str | None
    zip_code: str | None
    facts: PropertyFacts
    asking_price: MoneyOut | None  # per month for rents
    # The period the source priced it in: "sale", "month", "week" (converted per month above)
    price_period: str | None = None
    location: ApproxLocation | None
    score_bucket: str  # "A" High, "B" Medium, "C" Low within its metro (leads.scores)
    # The scoring model's top reasons, in words (those an unbought preview may show)
    score_reasons: list[str] = Field(default_factory=list)
    price: MoneyOut  # what this agent pays: the lead price less the tier discount
    price_factors: PriceFactorsOut | None = None
    listed_at: datetime | None
    published_at: datetime


class OwnerContact(BaseModel):
    name: str | None
    phone: str | None
    email: str | None


class ContactOut(BaseModel):
    """A phone or e-mail the sources gave, with whose it is and where it came from."""

    kind: Literal["phone", "email"]
    value: str
    role: Literal["owner", "listing_agent", "office", "unknown"]
    origin: str  # "field:OwnerPhone", "text:description"
    note: str | None = None  # how it was read: "digits spelled as words", "written with at/dot"
    extension: str | None = None


class RiskSignal(BaseModel):
    """A scam or spam signal screening found, with its evidence (ingestion.screening)."""

    name: str
    weight: float
    evidence: str


class LeadFull(BaseModel):
    access: Literal["full"] = "full"
    id: uuid.UUID
    kind: LeadKind
    status: LeadStatus
    title: str | None
    street_address: str | None
    unit: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    latitude: float | None
    longitude: float | None
    geocode_precision: str
    facts: PropertyFacts
    asking_price: MoneyOut | None
    price_period: str | None = None
    listed_price: MoneyOut | None = None  # as the source wrote it, in its period
    location: ApproxLocation | None
    score: float | None
    score_bucket: str
    model_version: str | None
    score_reasons: list[str] = Field(default_factory=list)
    price: MoneyOut
    price_factors: PriceFactorsOut | None = None
    owner: OwnerContact
    contacts: list[ContactOut] = Field(default_factory=list)
    risk_score: float | None = None
    risk_signals: list[RiskSignal] = Field(default_factory=list)
    withheld_because: str | None = None  # why it is withheld from sale (status withheld)
    source: str
    source_ref: str
    source_url: str | None
    listing_agent: str | None
    listing_office: str | None
    listed_at: datetime | None
    published_at: datetime
    first_seen_at: datetime
    updated_at: datetime


class LeadPage(BaseModel):
    items: list[LeadPreview | LeadFull]
    next_cursor: str | None
