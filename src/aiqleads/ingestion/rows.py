"""A normalized lead as a row of the leads table, and the hash that says "nothing changed"."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import operator
from typing import Any

from aiqleads.config import Settings
from aiqleads.ingestion.normalize.lead import NormalizedLead
from aiqleads.kit.crypto import FieldCipher, blind_index
from aiqleads.leads.writes import FILLABLE

# Bumped when the row a lead produces changes shape, so a re-run after an upgrade rewrites.
ROW_VERSION = "3"

# Column widths of the leads table: a source's over-long text is cut, not allowed to abort a batch.
_WIDTHS = {
    "property_type": 40,
    "street_address": 200,
    "unit": 40,
    "city": 100,
    "listing_agent": 200,
    "listing_office": 200,
    "address_key": 300,
    "listing_agent_email": 254,
}


_HASHED = operator.attrgetter(
    *(f.name for f in dataclasses.fields(NormalizedLead) if f.name != "notes")
)


def content_hash(lead: NormalizedLead) -> str:
    """Everything the source said about the lead; notes are commentary and left out.

    The repr of a tuple of str, int, float, None and aware datetimes is stable across runs and
    ten times cheaper than dataclasses.asdict + JSON, which this runs for every record; the
    fields are read by one `attrgetter` call (a generator of getattr cost a third of the time).
    """
    values = (ROW_VERSION, *_HASHED(lead))
    return hashlib.sha256(repr(values).encode()).hexdigest()


def phone_hmac(settings: Settings, lead: NormalizedLead) -> str | None:
    return None if lead.owner_phone is None else blind_index(settings.secret_key, lead.owner_phone)


def lead_row(
    lead: NormalizedLead,
    *,
    settings: Settings,
    cipher: FieldCipher,
    phone_hmac: str | None,
) -> dict[str, Any]:
    """The columns `leads.writes` takes from a caller (`writes.GIVEN`); score and price are the
    enrich stage's (unscored at the base price here). Location cells, status, ids and times are
    the write path's."""
    row: dict[str, Any] = {
        "source": lead.source,
        "source_ref": lead.source_ref,
        "source_url": lead.source_url,
        "kind": lead.kind,
        "listing_status": lead.listing_status,
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
        "owner_name_enc": cipher.encrypt(lead.owner_name),
        "owner_phone_enc": cipher.encrypt(lead.owner_phone),
        "owner_email_enc": cipher.encrypt(lead.owner_email),
        "owner_phone_hmac": phone_hmac,
        "listing_agent": lead.listing_agent,
        "listing_office": lead.listing_office,
        "listed_at": lead.listed_at,
        "price_period": lead.price_period,
        "listed_price_cents": lead.listed_price_cents,
        "contacts_enc": _contacts_enc(cipher, lead),
        "listing_agent_phone": lead.listing_agent_phone,
        "listing_agent_email": lead.listing_agent_email,
        "listing_office_phone": lead.listing_office_phone,
        "description_hash": lead.description_hash,
        "risk_score": None,  # the screening stage's (item columns), when it runs
        "risk_signals": None,
        "blocked_reason": None,
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


def _contacts_enc(cipher: FieldCipher, lead: NormalizedLead) -> str | None:
    """Every contact with its provenance, as encrypted JSON (owner contact among them)."""
    if not lead.contacts:
        return None
    return cipher.encrypt(json.dumps([c.as_dict() for c in lead.contacts], sort_keys=True))


def fill_empty(row: dict[str, Any], other: dict[str, Any]) -> None:
    """Fill the row's empty fillable columns from another sighting of the same home, and take
    its point when it is exact and the row's is not (as `leads.writes.merge` does in SQL)."""
    for column in FILLABLE:
        if column in row and row[column] is None and other.get(column) is not None:
            row[column] = other[column]
    if row["geocode_precision"] != "exact" and other["geocode_precision"] == "exact":
        for column in ("latitude", "longitude", "geocode_precision"):
            row[column] = other[column]
    if row["listing_status"] is None:
        row["listing_status"] = other["listing_status"]
