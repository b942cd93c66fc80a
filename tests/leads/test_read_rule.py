"""The one read rule seen from outside: the catalog and every map layer count the same leads
for the same filters and viewer, and a status a source reports takes a lead off both at once."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models.enums import Role, Tier
from tests.factories import (
    catalog_pages,
    insert_leads,
    lead_row,
    login,
    make_account,
    record_purchase,
)

LEADS = "/api/v1/leads"
GEO = "/api/v1/geo"


async def _catalog_count(
    client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, Any]
) -> int:
    return len(await catalog_pages(client, headers, {**params, "limit": 200}))


async def _geo(
    client: httpx.AsyncClient, headers: dict[str, str], endpoint: str, **params: Any
) -> Any:
    res = await client.get(f"{GEO}/{endpoint}", params=params, headers=headers)
    assert res.status_code == 200, res.text
    return res.json()


FILTERS: list[dict[str, Any]] = [
    {},
    {"kind": "fsbo"},
    {"price_min": 400_000, "price_max": 700_000},
    {"beds_min": 3, "baths_min": 2},
    {"zip": ["98101", "98103"]},
    {"city": "BELLEVUE"},
    {"bbox": "-122.40,47.55,-122.25,47.68"},
    {"status": ["available", "held", "sold"]},
]


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN])
async def test_catalog_and_map_layers_count_the_same_leads(
    role: Role,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given leads of every kind, status and window around Seattle, some bought by the caller
    now = clock.now()
    rng = random.Random(3)
    rows = [
        lead_row(
            settings,
            cipher,
            now=now,
            latitude=47.5 + rng.random() * 0.2,
            longitude=-122.45 + rng.random() * 0.3,
            kind=rng.choice(["fsbo", "for_sale", "for_rent"]),
            zip_code=rng.choice(["98101", "98102", "98103"]),
            city=rng.choice(["Seattle", "Bellevue"]),
            bedrooms=rng.choice([1, 2, 3, 4]),
            bathrooms=rng.choice([1.0, 2.0, 2.5]),
            asking_price_cents=rng.randrange(200_000, 900_000) * 100,
            status=rng.choice(["available"] * 6 + ["held", "pending", "withdrawn", "sold"]),
            published_at=now - timedelta(minutes=rng.choice([5, 20, 120])),
        )
        for _ in range(150)
    ]
    await insert_leads(sessions, rows, now=now)
    me = await make_account(sessions, now=now, role=role, tier=Tier.PRO)
    headers = await login(client, me.email)
    for r in [r for r in rows if r.get("listing_status") is None][:12]:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=me, now=now)
    # When the catalog and the layers are asked with the same filters
    for params in FILTERS:
        area = {} if "bbox" in params else {"metro": "seattle"}
        catalog = await _catalog_count(client, headers, {**params, **area})
        heat = await _geo(client, headers, "heatmap", **params, **area, resolution=8)
        clusters = await _geo(client, headers, "clusters", **params, **area, min_samples=2)
        # Then they agree (the catalog's metro filter and the layers' share one rule)
        assert heat["total_leads"] == catalog, params
        assert clusters["n_points"] == catalog, params
        assert catalog > 0 or params.get("city"), params


async def test_a_status_from_the_source_removes_the_lead_from_catalog_and_map_at_once(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a RESO listing ingested as active, and an agent who has looked at the map (cached)
    def feed(status: str) -> Document:
        record = {
            "ListingKey": "L-1",
            "StandardStatus": status,
            "ListPrice": 650000,
            "UnparsedAddress": "1200 5th Ave",
            "City": "Seattle",
            "StateOrProvince": "WA",
            "PostalCode": "98101",
            "Latitude": 47.6089,
            "Longitude": -122.3327,
            "BedroomsTotal": 3,
            "PropertyType": "Residential",
        }
        return Document("feed.json", "reso", json.dumps({"value": [record]}).encode())

    pipeline = Pipeline.from_settings(settings, cipher)
    await pipeline.run(
        sessions, [feed("Active")], metro="seattle", now=clock.now() - timedelta(days=1)
    )
    account = await make_account(sessions, now=clock.now(), tier=Tier.ENTERPRISE)
    headers = await login(client, account.email)

    async def seen() -> tuple[int, int]:
        listed = await _catalog_count(client, headers, {"metro": "seattle"})
        heat = await _geo(client, headers, "heatmap", metro="seattle")
        return listed, heat["total_leads"]

    assert await seen() == (1, 1)
    assert await seen() == (1, 1)  # the second heatmap is a cache hit
    # When the source reports it pending, then closed, then active again
    for status, expected in (("Pending", (0, 0)), ("Closed", (0, 0)), ("Active", (1, 1))):
        await pipeline.run(sessions, [feed(status)], metro="seattle", now=clock.now())
        # Then both answers follow at once: the write bumped the metro's data version
        assert await seen() == expected, status
