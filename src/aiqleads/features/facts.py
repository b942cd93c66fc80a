"""A lead's own facts as features: what rules-1 (leads.pricing) hand-weighted, given raw so the
model can learn the weights. Pure code, no I/O.

Values (in `FACT_NAMES` order; flags are 1.0 or 0.0):
- has_owner_name, has_owner_phone, has_owner_email: the owner's contact the buyer gets;
- property_facts: how many of bedrooms, bathrooms, living area, lot, year built are known (0-5);
- has_property_type, has_asking_price, exact_location (geocode precision "exact");
- freshness_days: days since the listing date, or since we first saw the lead when the source
  gave none (then listed_at_known is 0); never below 0;
- days_published: days on the marketplace (since published_at), never below 0;
- log_asking_price: log10(1 + asking price in dollars), rents per month; 0 when unknown;
- kind_*: one flag per lead kind (fsbo, for_sale, for_rent, expired; "other" is all zeros).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from aiqleads.models.enums import GeocodePrecision, LeadKind

_KINDS = (LeadKind.FSBO, LeadKind.FOR_SALE, LeadKind.FOR_RENT, LeadKind.EXPIRED)
FACT_NAMES: tuple[str, ...] = (
    "has_owner_name",
    "has_owner_phone",
    "has_owner_email",
    "property_facts",
    "has_property_type",
    "has_asking_price",
    "exact_location",
    "freshness_days",
    "listed_at_known",
    "days_published",
    "log_asking_price",
    *(f"kind_{k.value}" for k in _KINDS),
)
_DAY = 86_400.0
_EXACT = GeocodePrecision.EXACT.value
_KIND_VALUES = tuple(k.value for k in _KINDS)


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """What `fact_values` reads of a lead (a lead row's columns, contacts as present or not)."""

    kind: str
    has_owner_name: bool
    has_owner_phone: bool
    has_owner_email: bool
    facts_present: int
    has_property_type: bool
    asking_price_cents: int | None
    geocode_precision: str
    listed_at: datetime | None
    first_seen_at: datetime
    published_at: datetime


def fact_values(f: LeadFacts, now: datetime) -> list[float]:
    """The values of `FACT_NAMES` for one lead at `now` (timezone-aware)."""
    since = f.listed_at if f.listed_at is not None else f.first_seen_at
    price = f.asking_price_cents
    return [
        float(f.has_owner_name),
        float(f.has_owner_phone),
        float(f.has_owner_email),
        float(f.facts_present),
        float(f.has_property_type),
        float(price is not None),
        float(f.geocode_precision == _EXACT),
        max(0.0, (now - since).total_seconds() / _DAY),
        float(f.listed_at is not None),
        max(0.0, (now - f.published_at).total_seconds() / _DAY),
        math.log10(1.0 + max(price, 0) / 100.0) if price is not None else 0.0,
        *(float(f.kind == k) for k in _KIND_VALUES),
    ]
