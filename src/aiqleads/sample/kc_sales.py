"""Loads the bundled King County sales as demo leads through the bulk upsert."""

from __future__ import annotations

import csv
import gzip
import io
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.ingestion.normalize.coordinates import zip_info
from aiqleads.kit.crypto import FieldCipher, blind_index
from aiqleads.kit.h3cells import cells_for
from aiqleads.kit.places import city_key as canonical_city
from aiqleads.leads import writes as store
from aiqleads.leads.pricing import RULES_VERSION, LeadSignals, lead_price_cents, quality_score
from aiqleads.models.enums import GeocodePrecision, LeadKind, LeadStatus
from aiqleads.observability.metrics import LEADS_LOADED
from aiqleads.sample.fictional_owners import fictional_owner

SAMPLE_FILE = Path(__file__).resolve().parent.parent / "sample_data" / "kc_house_sales.csv.gz"
SOURCE = "kc_sales"
BATCH = 2000


@cache
def _city_state(zip_code: str) -> tuple[str | None, str | None]:
    found = zip_info(zip_code)
    return (None, None) if found is None else (canonical_city(found.city), found.state)


def _int(v: str) -> int | None:
    return int(float(v)) if v not in ("", None) else None


def lead_row(
    rec: dict[str, str], *, settings: Settings, cipher: FieldCipher, now: datetime
) -> dict[str, Any]:
    sold_on = datetime.strptime(rec["date"][:8], "%Y%m%d").replace(tzinfo=UTC)
    lat, lon = float(rec["lat"]), float(rec["long"])
    r7, r8, r9 = cells_for(lat, lon)
    owner = fictional_owner(int(rec["id"]))
    city, state = _city_state(rec["zipcode"])
    facts = {
        "bedrooms": _int(rec["bedrooms"]),
        "bathrooms": float(rec["bathrooms"]) if rec["bathrooms"] else None,
        "living_area_sqft": _int(rec["sqft_living"]),
        "lot_sqft": _int(rec["sqft_lot"]),
        "year_built": _int(rec["yr_built"]),
    }
    asking = round(float(rec["price"]) * 100)
    score = quality_score(
        LeadSignals(
            has_owner_name=True,
            has_owner_phone=True,
            has_owner_email=True,
            has_exact_location=True,
            facts_present=sum(v is not None for v in facts.values()),
            has_asking_price=True,
            listed_at=sold_on,
        ),
        now,
    )
    return {
        "public_id": uuid.uuid5(uuid.NAMESPACE_URL, f"aiqleads:{SOURCE}:{rec['id']}:{rec['date']}"),
        "source": SOURCE,
        "source_ref": f"{rec['id']}-{rec['date'][:8]}",
        "source_url": None,
        "kind": LeadKind.FOR_SALE.value,
        "status": LeadStatus.AVAILABLE.value,
        "title": f"{facts['bedrooms']} bd / {facts['bathrooms']} ba in {city or rec['zipcode']}",
        "property_type": "single_family",
        **facts,
        "asking_price_cents": asking,
        "currency": "USD",
        # The data set has no street addresses; the buyer gets the exact point instead.
        "street_address": None,
        "unit": None,
        "city": city,
        "state": state or "WA",
        "zip_code": rec["zipcode"],
        "latitude": lat,
        "longitude": lon,
        "geocode_precision": GeocodePrecision.EXACT.value,
        "h3_r7": r7,
        "h3_r8": r8,
        "h3_r9": r9,
        "owner_name_enc": cipher.encrypt(owner.name),
        "owner_phone_enc": cipher.encrypt(owner.phone),
        "owner_email_enc": cipher.encrypt(owner.email),
        "owner_phone_hmac": blind_index(settings.secret_key, owner.phone),
        "listing_agent": None,
        "listing_office": None,
        "listed_at": sold_on,
        # Historical records: on the marketplace since their own date, past every priority window.
        "published_at": sold_on,
        "first_seen_at": now,
        "updated_at": now,
        "score": score,
        "model_version": RULES_VERSION,
        "price_cents": lead_price_cents(score, settings.pricing),
        "price_currency": settings.pricing.currency,
    }


def read_sample(path: Path = SAMPLE_FILE) -> Iterator[dict[str, str]]:
    with gzip.open(path, "rb") as raw:
        yield from csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))


async def load_sample(
    sessions: async_sessionmaker[AsyncSession],
    *,
    settings: Settings,
    cipher: FieldCipher,
    now: datetime,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Upsert the sample leads in batches, each batch its own transaction. Returns the count."""
    total = 0
    batch: list[dict[str, Any]] = []
    for rec in read_sample():
        if limit is not None and total + len(batch) >= limit:
            break
        batch.append(lead_row(rec, settings=settings, cipher=cipher, now=now))
        if len(batch) >= BATCH:
            total += await _flush(sessions, batch, progress, now)
            batch = []
    if batch:
        total += await _flush(sessions, batch, progress, now)
    LEADS_LOADED.labels(SOURCE).inc(total)
    return total


async def _flush(
    sessions: async_sessionmaker[AsyncSession],
    batch: list[dict[str, Any]],
    progress: Callable[[int], None] | None,
    now: datetime,
) -> int:
    async with transaction(sessions) as session:
        await store.upsert(session, batch, now=now, cause="demo")
    if progress is not None:
        progress(len(batch))
    return len(batch)
