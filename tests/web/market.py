"""A small Seattle-area market for the browser tests: leads around real ZIP centres (so the map,
the ZIP outlines and the place names agree), with varied prices, homes, kinds and listing
offices, all published long ago (the live server runs on the real clock, so every tier sees
them), and a few sold to another buyer (so penetration has something to show)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models.enums import Tier
from tests.factories import insert_leads, lead_row, make_account, record_purchase

# ZIP, city, centre (lat, lon), typical asking price in dollars. Centres from the Census ZCTA
# internal points, rounded.
ZIPS = (
    ("98101", "Seattle", 47.6110, -122.3340, 650_000),
    ("98103", "Seattle", 47.6731, -122.3422, 900_000),
    ("98105", "Seattle", 47.6609, -122.2995, 1_100_000),
    ("98107", "Seattle", 47.6722, -122.3756, 850_000),
    ("98109", "Seattle", 47.6304, -122.3466, 950_000),
    ("98112", "Seattle", 47.6310, -122.2969, 1_600_000),
    ("98115", "Seattle", 47.6849, -122.2966, 1_000_000),
    ("98117", "Seattle", 47.6890, -122.3801, 950_000),
    ("98122", "Seattle", 47.6108, -122.3046, 800_000),
    ("98004", "Bellevue", 47.6172, -122.2069, 2_200_000),
    ("98033", "Kirkland", 47.6770, -122.1906, 1_400_000),
    ("98052", "Redmond", 47.6786, -122.1213, 1_300_000),
)
OFFICES = ("Windermere", "Redfin", "Compass", "John L. Scott", "Keller Williams", "eXp Realty")
KINDS = ("for_sale", "for_sale", "fsbo", "for_rent", "expired")
OWNER_PHONE = "+12065550142"  # reserved for fiction (555-01xx)


@dataclass
class Market:
    rows: list[dict[str, Any]]  # as stored: each with its `public_id`

    def available_in(self, zip_code: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["zip_code"] == zip_code and not r.get("_sold")]


async def build_market(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    *,
    now: datetime,
    per_zip: int = 25,
    sold_per_zip: int = 2,
    seed: int = 13,
) -> Market:
    """`per_zip` leads in each ZIP of ZIPS, `sold_per_zip` of them bought by another agent."""
    rng = random.Random(seed)
    old = now - timedelta(days=30)
    rows: list[dict[str, Any]] = []
    for zip_code, city, lat, lon, typical in ZIPS:
        for i in range(per_zip):
            kind = KINDS[i % len(KINDS)]
            rent = kind == "for_rent"
            price = (
                round(typical * rng.uniform(0.6, 1.5), -3)
                if not rent
                else rng.randrange(18, 45) * 100
            )
            rows.append(
                lead_row(
                    settings,
                    cipher,
                    now=old,
                    latitude=lat + rng.gauss(0, 0.006),
                    longitude=lon + rng.gauss(0, 0.008),
                    zip_code=zip_code,
                    city=city,
                    kind=kind,
                    bedrooms=rng.randrange(1, 6),
                    bathrooms=rng.choice((1.0, 1.5, 2.0, 2.5, 3.0)),
                    living_area_sqft=rng.randrange(650, 4200, 10),
                    year_built=rng.randrange(1905, 2024),
                    asking_price_cents=int(price * 100),
                    listing_office=None if kind == "fsbo" else rng.choice(OFFICES),
                    owner_phone=OWNER_PHONE,
                    owner_name=rng.choice(
                        ("Avery Quinn", "Jordan Lee", "Sam Rivera", "Casey Morgan")
                    ),
                    score=rng.random(),
                    price_cents=rng.randrange(800, 3500),
                    listed_at=old - timedelta(days=rng.randrange(1, 40)),
                    published_at=old,
                    updated_at=old,
                )
            )
    await insert_leads(sessions, rows, now=old)
    other = await make_account(sessions, now=old, tier=Tier.ENTERPRISE, email="rival@example.com")
    for zip_code, *_ in ZIPS:
        for row in [r for r in rows if r["zip_code"] == zip_code][-sold_per_zip:]:
            await record_purchase(sessions, lead_public_id=row["public_id"], account=other, now=old)
            row["_sold"] = True
    return Market(rows)
