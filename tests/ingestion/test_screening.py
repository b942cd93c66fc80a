"""Scam and spam screening (issue 8, item 6): each signal with its evidence; at the threshold
the lead is withheld (no agent sees it, the cart refuses it as not found) until an admin
releases it, after which screening never withholds it again."""

from __future__ import annotations

import csv
import io
import random
import statistics
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.factories import admin, agent

from aiqleads.config import ScreeningSettings, Settings
from aiqleads.db.engine import transaction
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.mapping import load_mapping
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.ingestion.screening import (
    Subject,
    median_without,
    price_signal,
    text_signals,
    verdict,
)
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead

MAPPING = load_mapping(
    """
source = "classifieds"
ref = "id"
kind = "for_rent"
poster_role = "owner"
[columns]
title = "title"
description = "body"
price = "price"
street = "street"
city = "city"
state = "state"
zip_code = "zip"
latitude = "lat"
longitude = "lon"
phone = "phone"
email = "email"
"""
)
FIELDS = ("id", "title", "body", "price", "street", "city", "state", "zip", "lat", "lon")
SCAM = (
    "Lovely 2 bedroom home. I am currently overseas on a mission, so I cannot show the house; "
    "pay the deposit by Western Union and the keys will be mailed to you."
)
RULES = ScreeningSettings()
Sessions = async_sessionmaker[AsyncSession]


def document(rows: list[dict[str, Any]]) -> Document:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*FIELDS, "phone", "email"])
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return Document("rows.csv", "csv", out.getvalue().encode(), parser=MAPPING.parser())


def row(n: int, **fields: Any) -> dict[str, Any]:
    base = {
        "id": f"r{n}",
        "title": f"2br home {n}",
        "body": "",
        "price": 1500 + 10 * n,
        "street": f"{100 + 2 * n} Fictional Pine St",
        "city": "Las Vegas",
        "state": "NV",
        "zip": "89102",
        "lat": 36.1500 + 0.0002 * n,
        "lon": -115.2000,
        "phone": f"702-555-01{n % 100:02d}",
        "email": "",
    }
    return {**base, **fields}


async def ingest(
    settings: Settings,
    cipher: FieldCipher,
    sessions: Sessions,
    clock: FrozenClock,
    rows: list[dict[str, Any]],
) -> None:
    pipeline = Pipeline.from_settings(settings, cipher)
    await pipeline.run(sessions, [document(rows)], metro="las_vegas", now=clock.now())


async def stored(sessions: Sessions, ref: str) -> Lead:
    async with transaction(sessions) as session:
        lead = (await session.scalars(select(Lead).where(Lead.source_ref == ref))).one()
        return lead


def test_signals_name_their_evidence() -> None:
    subject = Subject("for_rent", 50_000, (SCAM,), phones=0, emails=("x@gmail.com",))
    signals = text_signals(subject, RULES)
    assert [s.name for s in signals] == [
        "payment_wire_or_gift_card",
        "owner_abroad",
        "email_only_free_provider",
    ]
    assert "Western Union" in signals[0].evidence
    below = price_signal(subject, [150_000] * 8, RULES)
    assert below is not None and "33% of the median $1,500 of 8 rent leads" in below.evidence
    assert price_signal(subject, [150_000] * 7, RULES) is None  # too few comparables
    assert verdict(signals, RULES).blocked


def test_the_median_of_the_others_is_what_statistics_gives_for_the_list_without_the_lead() -> None:
    # Given neighbourhoods of 1 to 40 prices with repeats, and prices in them and not in them
    rng = random.Random(8)
    for _ in range(2000):
        prices = sorted(rng.choice((90_000, 120_000, 150_000, 151_000, 400_000)) + rng.randrange(3)
                        for _ in range(rng.randrange(1, 40)))  # fmt: skip
        value = rng.choice([*prices, 1, 10**9, None])
        # When the median of the others is taken
        median, count = median_without(prices, value)
        # Then it is statistics.median of the list with one occurrence of the value removed
        others = list(prices)
        if value in others:
            others.remove(value)
        assert count == len(others)
        if others:
            assert median == statistics.median(others)
            assert type(median) is type(statistics.median(others))


def test_no_single_signal_withholds_a_lead() -> None:
    for weight in RULES.weights.model_dump().values():
        assert weight < RULES.threshold


async def test_a_scam_rental_is_withheld_hidden_from_agents_and_released_by_an_admin(
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given ten ordinary rentals in a neighbourhood, and a scam at a third of their rent
    rows = [row(n) for n in range(10)]
    rows.append(row(99, price=500, body=SCAM, lat=36.1511))
    await ingest(settings, cipher, sessions, clock, rows)
    # Then the scam is withheld, with its signals and their evidence
    scam = await stored(sessions, "r99")
    assert (scam.status, scam.blocked_reason) == ("withheld", "scam_signals")
    names = {s["name"] for s in scam.risk_signals or []}
    assert names == {"price_far_below_median", "payment_wire_or_gift_card", "owner_abroad"}
    assert (await stored(sessions, "r1")).status == "available"
    # And no agent can see or hold it
    _, agent_headers = await agent(client, sessions, clock)
    listed = (await client.get("/api/v1/leads", headers=agent_headers)).json()["items"]
    assert str(scam.public_id) not in {i["id"] for i in listed} and len(listed) == 10
    got = await client.get(f"/api/v1/leads/{scam.public_id}", headers=agent_headers)
    assert got.status_code == 404
    hold = await client.post(
        "/api/v1/cart/holds", json={"lead_ids": [str(scam.public_id)]}, headers=agent_headers
    )
    assert [i["refused"] for i in hold.json()["items"]] == ["not_found"]
    # And an admin sees why, and releases it
    admin_headers = await admin(client, sessions, clock)
    full = await client.get(f"/api/v1/leads/{scam.public_id}", headers=admin_headers)
    assert full.json()["withheld_because"] == "scam_signals"
    assert {s["name"] for s in full.json()["risk_signals"]} == names
    withheld = await client.get("/api/v1/leads?status=withheld", headers=admin_headers)
    assert [i["id"] for i in withheld.json()["items"]] == [str(scam.public_id)]
    released = await client.post(f"/api/v1/leads/{scam.public_id}/release", headers=admin_headers)
    assert released.status_code == 200 and released.json()["status"] == "available"
    again = await client.post(f"/api/v1/leads/{scam.public_id}/release", headers=admin_headers)
    assert again.status_code == 409
    # And a later sighting with new content does not withhold it again
    clock.advance(timedelta(days=1))
    await ingest(settings, cipher, sessions, clock, [row(99, price=490, body=SCAM, lat=36.1511)])
    after = await stored(sessions, "r99")
    assert (after.status, after.asking_price_cents) == ("available", 49_000)
    assert after.risk_score is not None and after.risk_score >= RULES.threshold


async def test_agents_refused_the_release_route(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock)
    res = await client.post(
        "/api/v1/leads/00000000-0000-0000-0000-000000000000/release", headers=headers
    )
    assert res.status_code == 403


async def test_copied_text_and_one_phone_across_cities(
    sessions: Sessions, clock: FrozenClock, settings: Settings, cipher: FieldCipher
) -> None:
    # Given one long description and one phone on listings in three cities
    text = (
        "Beautiful fully furnished house with a large backyard, new appliances, close to "
        "schools and shopping; utilities included; available now for a long lease."
    )
    places = [
        ("Las Vegas", "89102", 36.15, -115.20),
        ("Henderson", "89014", 36.06, -115.08),
        ("North Las Vegas", "89030", 36.21, -115.12),
    ]
    rows = [
        row(n, city=city, zip=zip5, lat=lat, lon=lon, body=text, phone="702-555-0166")
        for n, (city, zip5, lat, lon) in enumerate(places)
    ]
    await ingest(settings, cipher, sessions, clock, rows)
    lead = await stored(sessions, "r2")
    signals = {s["name"]: s["evidence"] for s in lead.risk_signals or []}
    assert "2 other listings in 2 other cities" in signals["copied_text_across_cities"]
    assert "on 3 listings in 3 cities" in signals["phone_on_many_listings"]
    assert lead.status == "withheld"  # 0.5 + 0.5 reaches the threshold


async def test_an_ordinary_listing_has_no_signal(
    sessions: Sessions, clock: FrozenClock, settings: Settings, cipher: FieldCipher
) -> None:
    await ingest(settings, cipher, sessions, clock, [row(1, body="Nice place, call me.")])
    lead = await stored(sessions, "r1")
    assert (lead.risk_score, lead.risk_signals, lead.status) == (0.0, None, "available")
