"""Turning a lead row into what one caller may see."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.h3cells import PREVIEW_RESOLUTION, cell_hex
from aiqleads.kit.money import Money
from aiqleads.leads.schemas import (
    ApproxLocation,
    ContactOut,
    LeadFull,
    LeadPreview,
    MoneyOut,
    OwnerContact,
    PriceFactorsOut,
    PropertyFacts,
    RiskSignal,
)
from aiqleads.leads.scores import UNSCORED
from aiqleads.models.enums import LeadKind, LeadStatus

# What `preview` reads of a lead row (with `id`, which joins purchases): a catalog page of
# previews selects only these columns, so no contact, exact point or source of a lead the agent
# has not bought leaves the database, and a page fetches and decodes less than half of the row.
PREVIEW_COLUMNS = (
    "id",
    "public_id",
    "kind",
    "status",
    "held_until",
    "city",
    "state",
    "zip_code",
    "property_type",
    "bedrooms",
    "bathrooms",
    "living_area_sqft",
    "lot_sqft",
    "year_built",
    "asking_price_cents",
    "currency",
    "price_period",
    "h3_r8",
    "preview_latitude",
    "preview_longitude",
    "geocode_precision",
    "score_bucket",
    "score_reasons",
    "price_cents",
    "price_currency",
    "price_factors",
    "listed_at",
    "published_at",
)


def _bucket(r: Any) -> str:
    return r.score_bucket or UNSCORED


def shown_status(r: Any, now: datetime) -> LeadStatus:
    """The status every reader sees: a hold past `held_until` is no hold (leads.visibility)."""
    if r.status == LeadStatus.HELD.value and (r.held_until is None or r.held_until <= now):
        return LeadStatus.AVAILABLE
    return LeadStatus(r.status)


def _money(cents: int | None, currency: str) -> MoneyOut | None:
    return None if cents is None else MoneyOut(cents=cents, currency=currency)


def _facts(r: Any) -> PropertyFacts:
    return PropertyFacts(
        property_type=r.property_type,
        bedrooms=r.bedrooms,
        bathrooms=r.bathrooms,
        living_area_sqft=r.living_area_sqft,
        lot_sqft=r.lot_sqft,
        year_built=r.year_built,
    )


def _location(r: Any) -> ApproxLocation | None:
    if r.h3_r8 is None:
        return None
    return ApproxLocation(
        h3_cell=cell_hex(r.h3_r8),
        resolution=PREVIEW_RESOLUTION,
        center_lat=round(r.preview_latitude, 6),
        center_lon=round(r.preview_longitude, 6),
        # Part of the preview: a buyer must know before paying whether the lead's place is
        # known, and the map layers' counts of approximate leads are then preview facts.
        precision=r.geocode_precision,
    )


def _price_factors(r: Any, discount_percent: int | None) -> PriceFactorsOut | None:
    f = r.price_factors
    if not f:
        return None
    return PriceFactorsOut(
        base_cents=f["base_cents"],
        quality=f["quality"],
        demand=f["demand"],
        market=f["market"],
        list_cents=r.price_cents,
        tier_discount_percent=discount_percent,
    )


def _reasons(r: Any, *, bought: bool) -> list[str]:
    """The stored reasons' words (`scoring.reasons.top_reasons`), in their order: for whoever
    may read the whole lead those marked `buyer` (the top few of all), for an unbought preview
    those marked `preview` (the top few among the preview-safe phrases, chosen among those
    alone: none derived from the exact point, the contact or the source). Rows stored before
    `buyer` existed hold the top few of all only: every one is the buyer's."""
    key = "buyer" if bought else "preview"
    return [x["text"] for x in (r.score_reasons or []) if x.get(key, bought)]


def price_for(r: Any, discount_percent: int) -> MoneyOut:
    price = Money(r.price_cents, r.price_currency).percent_off(discount_percent)
    return MoneyOut(cents=price.cents, currency=price.currency)


def preview(r: Row[Any], *, discount_percent: int, now: datetime) -> LeadPreview:
    return LeadPreview(
        id=r.public_id,
        kind=LeadKind(r.kind),
        status=shown_status(r, now),
        city=r.city,
        state=r.state,
        zip_code=r.zip_code,
        facts=_facts(r),
        asking_price=_money(r.asking_price_cents, r.currency),
        price_period=r.price_period,
        location=_location(r),
        score_bucket=_bucket(r),
        score_reasons=_reasons(r, bought=False),
        price=price_for(r, discount_percent),
        price_factors=_price_factors(r, discount_percent),
        listed_at=r.listed_at,
        published_at=r.published_at,
    )


def _contacts(cipher: FieldCipher, stored: str | None) -> list[ContactOut]:
    plain = cipher.decrypt(stored)
    return [] if plain is None else [ContactOut.model_validate(c) for c in json.loads(plain)]


def full(r: Row[Any], *, cipher: FieldCipher, price: MoneyOut, now: datetime) -> LeadFull:
    return LeadFull(
        id=r.public_id,
        kind=LeadKind(r.kind),
        status=shown_status(r, now),
        title=r.title,
        street_address=r.street_address,
        unit=r.unit,
        city=r.city,
        state=r.state,
        zip_code=r.zip_code,
        latitude=r.latitude,
        longitude=r.longitude,
        geocode_precision=r.geocode_precision,
        facts=_facts(r),
        asking_price=_money(r.asking_price_cents, r.currency),
        price_period=r.price_period,
        listed_price=_money(r.listed_price_cents, r.currency),
        location=_location(r),
        score=r.score,
        score_bucket=_bucket(r),
        model_version=r.model_version,
        score_reasons=_reasons(r, bought=True),
        price=price,
        # How today's list price is made; the discount of the price paid is not read back
        # from it (the list price moves after a sale): `price` is what was paid.
        price_factors=_price_factors(r, None),
        owner=OwnerContact(
            name=cipher.decrypt(r.owner_name_enc),
            phone=cipher.decrypt(r.owner_phone_enc),
            email=cipher.decrypt(r.owner_email_enc),
        ),
        contacts=_contacts(cipher, r.contacts_enc),
        risk_score=r.risk_score,
        risk_signals=[RiskSignal.model_validate(s) for s in r.risk_signals or []],
        withheld_because=r.blocked_reason,
        source=r.source,
        source_ref=r.source_ref,
        source_url=r.source_url,
        listing_agent=r.listing_agent,
        listing_office=r.listing_office,
        listed_at=r.listed_at,
        published_at=r.published_at,
        first_seen_at=r.first_seen_at,
        updated_at=r.updated_at,
    )
