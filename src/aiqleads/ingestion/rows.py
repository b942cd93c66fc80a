"""A normalized lead as a row of the leads table, and the hash that says "nothing changed"."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import datetime
from typing import Any

from aiqleads.config import Settings
from aiqleads.ingestion.normalize.lead import NormalizedLead
from aiqleads.kit.crypto import FieldCipher, blind_index
from aiqleads.models.enums import LeadStatus

# Bumped when the row a lead produces changes shape, so a re-run after an upgrade rewrites.
ROW_VERSION = "1"

# Columns a later source may fill in when the lead's own source left them empty.
FILLABLE = (
    "source_url",
    "title",
    "property_type",
    "bedrooms",
    "bathrooms",
    "living_area_sqft",
    "lot_sqft",
    "year_built",
    "asking_price_cents",
    "street_address",
    "unit",
    "city",
    "state",
    "zip_code",
    "address_key",
    "owner_name_enc",
    "owner_phone_enc",
    "owner_email_enc",
    "owner_phone_hmac",
    "listing_agent",
    "listing_office",
    "listed_at",
)

# Column widths of the leads table: a source's over-long text is cut, not allowed to abort a batch.
_WIDTHS = {
    "property_type": 40,
    "street_address": 200,
    "unit": 40,
    "city": 100,
    "listing_agent": 200,
    "listing_office": 200,
    "address_key": 300,
}


_HASHED = tuple(f.name for f in dataclasses.fields(NormalizedLead) if f.name != "notes")


def content_hash(lead: NormalizedLead) -> str:
    """Everything the source said about the lead; notes are commentary and left out.

    The repr of a tuple of str, int, float, None and aware datetimes is stable across runs and
    ten times cheaper than dataclasses.asdict + JSON, which this runs for every record.
    """
    values = (ROW_VERSION, *(getattr(lead, name) for name in _HASHED))
    return hashlib.sha256(repr(values).encode()).hexdigest()


def phone_hmac(settings: Settings, lead: NormalizedLead) -> str | None:
    return None if lead.owner_phone is None else blind_index(settings.secret_key, lead.owner_phone)


def public_id(source: str, source_ref: str) -> uuid.UUID:
    # Deterministic, so two runs racing to create the same lead agree on its public id.
    return uuid.uuid5(uuid.NAMESPACE_URL, f"aiqleads:{source}:{source_ref}")


def lead_row(
    lead: NormalizedLead,
    *,
    settings: Settings,
    cipher: FieldCipher,
    phone_hmac: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Every column but id and metro; score and price are the enrich stage's (base price here)."""
    row: dict[str, Any] = {
        "public_id": public_id(lead.source, lead.source_ref),
        "source": lead.source,
        "source_ref": lead.source_ref,
        "source_url": lead.source_url,
        "kind": lead.kind,
        "status": LeadStatus.AVAILABLE.value,
        "title": lead.title,
        "property_type": lead.property_type,
        "bedrooms": lead.bedrooms,
        "bathrooms": lead.bathrooms,
        "living_area_sqft": lead.living_area_sqft,
        "lot_sqft": lead.lot_sqft,
        "year_built": lead.year_built,
        "asking_price_cents": lead.asking_price_cents,
        "currency": lead.currency,
        "street_address": lead.street_address,
        "unit": lead.unit,
        "city": lead.city,
        "state": lead.state,
        "zip_code": lead.zip_code,
        "address_key": lead.address_key,
        "latitude": lead.latitude,
        "longitude": lead.longitude,
        "geocode_precision": lead.geocode_precision,
        "h3_r7": lead.h3_r7,
        "h3_r8": lead.h3_r8,
        "h3_r9": lead.h3_r9,
        "owner_name_enc": cipher.encrypt(lead.owner_name),
        "owner_phone_enc": cipher.encrypt(lead.owner_phone),
        "owner_email_enc": cipher.encrypt(lead.owner_email),
        "owner_phone_hmac": phone_hmac,
        "listing_agent": lead.listing_agent,
        "listing_office": lead.listing_office,
        "listed_at": lead.listed_at,
        "published_at": now,
        "first_seen_at": now,
        "updated_at": now,
        "score": None,
        "model_version": None,
        "price_cents": settings.pricing.base_cents,
        "price_currency": settings.pricing.currency,
    }
    for column, width in _WIDTHS.items():
        value = row[column]
        if isinstance(value, str) and len(value) > width:
            row[column] = value[:width]
    return row


def fill_empty(row: dict[str, Any], other: dict[str, Any]) -> None:
    """Fill the row's empty fillable columns from another sighting of the same home."""
    for column in FILLABLE:
        if row.get(column) is None and other.get(column) is not None:
            row[column] = other[column]
    if row["geocode_precision"] != "exact" and other["geocode_precision"] == "exact":
        for column in ("latitude", "longitude", "geocode_precision", "h3_r7", "h3_r8", "h3_r9"):
            row[column] = other[column]
