"""Bad parameters are 422 naming the field; analytics respect tier windows and ownership."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models.enums import Tier
from tests.conftest import Backend
from tests.factories import insert_leads, lead_row, login, make_account, record_purchase
from tests.geo.api_helpers import GEO, admin, agent, geo

# A query string's values, as httpx takes them.
Params = dict[str, str | int | float]
SEATTLE: Params = {"metro": "seattle"}


BAD: list[tuple[str, Params, str]] = [
    ("heatmap", {}, "bbox"),
    ("heatmap", {"metro": "atlantis"}, "metro"),
    ("heatmap", {"bbox": "1,2,3"}, "bbox"),
    ("heatmap", {"bbox": "-125,40,-110,50"}, "bbox"),
    ("heatmap", {**SEATTLE, "resolution": 4}, "resolution"),
    ("heatmap", {**SEATTLE, "resolution": 11}, "resolution"),
    ("heatmap", {**SEATTLE, "zoom": 23}, "zoom"),
    ("heatmap", {**SEATTLE, "weight": "median"}, "weight"),
    ("heatmap", {**SEATTLE, "grid": "square", "cell_size_m": 10}, "cell_size_m"),
    ("heatmap", {**SEATTLE, "grid": "square", "weight": "score_mean"}, "weight"),
    ("heatmap", {**SEATTLE, "price_min": 500, "price_max": 100}, "price_min"),
    ("heatmap", {**SEATTLE, "price_min": -1}, "price_min"),
    ("heatmap", {**SEATTLE, "kind": "castle"}, "kind"),
    ("heatmap", {**SEATTLE, "status": "withdrawn"}, "status"),
    ("heatmap", {**SEATTLE, "listed_since": "yesterday"}, "listed_since"),
    ("heatmap", {**SEATTLE, "colour": "red"}, "colour"),
    ("clusters", {**SEATTLE, "eps_m": 5}, "eps_m"),
    ("clusters", {**SEATTLE, "eps_m": 5000}, "eps_m"),
    ("clusters", {**SEATTLE, "min_samples": 1}, "min_samples"),
    ("clusters", {**SEATTLE, "min_samples": 1001}, "min_samples"),
    ("clusters", {"bbox": "-123,47,-120,48"}, "bbox"),
    ("penetration", {**SEATTLE, "level": "county"}, "level"),
    ("penetration", {**SEATTLE, "level": "h3", "resolution": 10}, "resolution"),
    ("penetration", {"bbox": "-80.2,25.7,-80.1,25.8"}, "bbox"),
    ("competitors", SEATTLE, "radius_m"),
    ("competitors", {**SEATTLE, "radius_m": 5}, "radius_m"),
    ("competitors", {**SEATTLE, "radius_m": 60_000}, "radius_m"),
    ("competitors", {**SEATTLE, "radius_m": 500, "lat": 47.6}, "lon"),
    ("competitors", {**SEATTLE, "radius_m": 500, "lat": 95, "lon": 0}, "lat"),
]


async def test_bad_parameters_are_422_naming_the_field(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # One agent for every case: logging in is the slow part (password hashing).
    _, headers = await agent(client, sessions, clock)
    for endpoint, params, field in BAD:
        res = await client.get(f"{GEO}/{endpoint}", params=params, headers=headers)
        assert res.status_code == 422, (endpoint, params, res.text)
        body = res.json()
        assert body["code"] == "validation_error"
        assert [d["field"] for d in body["detail"]] == [field], (endpoint, params, body)
        assert body["detail"][0]["reason"]
        if field == "metro":
            assert "seattle" in body["error"] and "dallas" in body["error"]


async def test_postgis_algorithm_is_refused_on_sqlite(
    backend: Backend,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    _, headers = await agent(client, sessions, clock)
    params = {**SEATTLE, "algorithm": "postgis"}
    res = await client.get(f"{GEO}/clusters", params=params, headers=headers)
    assert res.status_code == (422 if backend.name == "sqlite" else 200)


async def test_geo_needs_authentication(client: httpx.AsyncClient) -> None:
    res = await client.get(f"{GEO}/heatmap", params=SEATTLE)
    assert res.status_code == 401


async def test_tier_windows_and_ownership_shape_every_answer(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given an old lead, one published 10 minutes ago, one sold to me and one sold to another
    now = clock.now()
    fresh = now - timedelta(minutes=10)
    old = lead_row(settings, cipher, now=now, latitude=47.61, longitude=-122.33)
    new = lead_row(
        settings,
        cipher,
        now=now,
        latitude=47.62,
        longitude=-122.34,
        published_at=fresh,
        first_seen_at=fresh,
        updated_at=fresh,
    )
    sold_mine = lead_row(settings, cipher, now=now, latitude=47.63, longitude=-122.35)
    sold_other = lead_row(settings, cipher, now=now, latitude=47.64, longitude=-122.36)
    await insert_leads(sessions, [old, new, sold_mine, sold_other])
    basic, basic_h = await agent(client, sessions, clock, tier=Tier.BASIC)
    _, pro_h = await agent(client, sessions, clock, tier=Tier.PRO)
    _, ent_h = await agent(client, sessions, clock, tier=Tier.ENTERPRISE)
    admin_h = await admin(client, sessions, clock)
    other = await make_account(sessions, now=now)
    await record_purchase(sessions, lead_public_id=sold_mine["public_id"], account=basic, now=now)
    await record_purchase(sessions, lead_public_id=sold_other["public_id"], account=other, now=now)

    async def total(headers: dict[str, str], **params: object) -> int:
        body = await geo(client, "heatmap", headers, **SEATTLE, **params)
        return int(body["total_leads"])

    # Then the 30- and 15-minute windows hide the new lead; enterprise and admins see it
    assert await total(basic_h) == 1
    assert await total(pro_h) == 1
    assert await total(ent_h) == 2
    assert await total(admin_h) == 2
    # And sold leads are only the caller's own, unless admin
    assert await total(basic_h, status="sold") == 1
    assert await total(ent_h, status="sold") == 0
    assert await total(admin_h, status="sold") == 2
    clusters = await geo(client, "clusters", basic_h, **SEATTLE, eps_m=2000, min_samples=2)
    assert clusters["n_points"] == 1

    # When time passes beyond the basic window, the same query shows the lead at once
    clock.advance(timedelta(minutes=21))
    assert await total(await login(client, basic.email)) == 2
