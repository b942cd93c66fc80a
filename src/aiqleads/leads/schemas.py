"""What the catalog answers. A preview and a full record are different types, so a preview
cannot carry the exact address, point or owner contact by accident."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from aiqleads.models.enums import LeadKind, LeadStatus


class MoneyOut(BaseModel):
    cents: int
    currency: str


class ApproxLocation(BaseModel):
    """The H3 cell (resolution 8, about 0.7 km²) the lead lies in, and the cell's centre."""

    h3_cell: str
    resolution: int
    center_lat: float
    center_lon: float


class PropertyFacts(BaseModel):
    property_type: str | None
    bedrooms: int | None
    bathrooms: float | None
    living_area_sqft: int | None
    lot_sqft: int | None
    year_built: int | None


class LeadPreview(BaseModel):
    access: Literal["preview"] = "preview"
    id: uuid.UUID
    kind: LeadKind
    status: LeadStatus
    city: str | None
    state: str | None
    zip_code: str | None
    facts: PropertyFacts
    asking_price: MoneyOut | None
    location: ApproxLocation | None
    score_bucket: str
    price: MoneyOut  # what this agent pays: the lead price less the tier discount
    listed_at: datetime | None
    published_at: datetime


class OwnerContact(BaseModel):
    name: str | None
    phone: str | None
    email: str | None


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
    location: ApproxLocation | None
    score: float | None
    score_bucket: str
    model_version: str | None
    price: MoneyOut
    owner: OwnerContact
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
