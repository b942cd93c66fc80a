"""The market routes: the operator's view of a region, and an agent's view of a ZIP, whose
lead-derived values obey the k rule (DESIGN.md section 2)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.market import service
from aiqleads.market.indicators import CONTEXT_KEYS, LEAD_DERIVED
from aiqleads.models.enums import Tier
from tests.conftest import T0
from tests.factories import admin, agent, insert_leads, lead_row
from tests.market.test_loaders import METRO_CUT, ZIP_CUT
from tests.shared_data import fixture_path

ZIP = "98105"


async def _given(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    n: int,
    *,
    published_ago: timedelta = timedelta(hours=2),
) -> None:
    """Zillow's ZIP and metro cuts, and n King County sales in ZIP 98105 over three months."""
    async with transaction(sessions) as session:
        for name in (ZIP_CUT, METRO_CUT):
            await service.load(session, fixture_path("market", name), "zillow")
    rows = [
        lead_row(
            settings,
            cipher,
            now=T0,
            source="king_county_sales",
            zip_code=ZIP,
            listed_at=T0 - timedelta(days=10 + 30 * (i % 3)),
            asking_price_cents=(500_000 + 10_000 * i) * 100,
            published_at=T0 - published_ago,
        )
        for i in range(n)
    ]
    await insert_leads(sessions, rows, now=T0)


async def test_admins_see_a_regions_series_and_context(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given the published series and 3 sales, computed into the leads' series
    await _given(sessions, settings, cipher, 3)
    async with transaction(sessions) as session:
        await service.compute(session, now=T0)
    headers = await admin(client, sessions, clock)
    # When an admin asks for the ZIP
    got = await client.get(f"/api/v1/admin/market/zip/{ZIP}", headers=headers)
    # Then the answer holds Zillow's rent index and the leads' own series, and the context
    assert got.status_code == 200, got.text
    body = got.json()
    sources = {(p["source"], p["measure"]) for p in body["series"]}
    assert ("zillow", "zori") in sources and ("leads", "median_sale_price") in sources
    assert tuple(body["context"]) == CONTEXT_KEYS
    assert body["context"]["leads"] == 3.0
    assert body["month"] == T0.date().replace(day=1).isoformat()
    # And a metro by slug, a month in the past, and an unknown region answer too
    metro = await client.get(
        "/api/v1/admin/market/metro/seattle", params={"month": "2021-11-15"}, headers=headers
    )
    assert metro.status_code == 200
    assert metro.json()["context"]["price_level"] == 706964.0
    empty = await client.get("/api/v1/admin/market/city/Nowhere, ZZ", headers=headers)
    assert empty.status_code == 200 and empty.json()["series"] == []
    # And a region kind we do not know is a 422
    bad = await client.get("/api/v1/admin/market/planet/earth", headers=headers)
    assert bad.status_code == 422


async def test_agents_may_not_use_the_operators_route(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock)
    got = await client.get(f"/api/v1/admin/market/zip/{ZIP}", headers=headers)
    assert got.status_code == 403


async def test_an_agent_sees_lead_values_only_for_k_leads_or_more(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    k = settings.disclosure_min_leads
    # Given k - 1 sales in the ZIP
    await _given(sessions, settings, cipher, k - 1)
    _, headers = await agent(client, sessions, clock)
    # When an agent asks for the ZIP's market
    got = await client.get(f"/api/v1/market/zips/{ZIP}", headers=headers)
    # Then the published series are there, every lead-derived value is withheld
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["covered"], body["min_leads"], body["metro"]) == (False, k, "seattle")
    assert {p["source"] for p in body["series"]} == {"zillow"}
    assert body["lead_series"] == []
    assert all(body["context"][key] is None for key in LEAD_DERIVED)
    assert body["context"]["zori_trend_12m"] is not None
    # When a k-th sale arrives
    await _given(sessions, settings, cipher, 1)
    got = await client.get(f"/api/v1/market/zips/{ZIP}", headers=headers)
    body = got.json()
    # Then the lead-derived values are shown, and each month of the series covers k leads
    assert body["covered"] is True
    assert body["context"]["leads"] == float(k)
    assert all(v is not None for v in body["context"].values())
    lead_measures = {p["measure"] for p in body["lead_series"]}
    assert lead_measures <= {"new_listings", "homes_sold", "median_sale_price"}
    # (k sales over three months: no month holds k of them)
    assert body["lead_series"] == []


async def test_leads_in_the_agents_priority_window_do_not_count(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given k sales published a minute ago: inside a basic agent's 30-minute window
    k = settings.disclosure_min_leads
    await _given(sessions, settings, cipher, k, published_ago=timedelta(minutes=1))
    _, basic = await agent(client, sessions, clock, tier=Tier.BASIC)
    _, enterprise = await agent(client, sessions, clock, tier=Tier.ENTERPRISE)
    # Then the basic agent counts none of them, the enterprise agent all
    seen = (await client.get(f"/api/v1/market/zips/{ZIP}", headers=basic)).json()
    assert seen["covered"] is False and seen["metro"] is None
    seen = (await client.get(f"/api/v1/market/zips/{ZIP}", headers=enterprise)).json()
    assert seen["covered"] is True


async def test_a_bad_zip_is_a_422(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock)
    got = await client.get("/api/v1/market/zips/9810", headers=headers)
    assert got.status_code == 422
    got = await client.get("/api/v1/market/zips/98105", params={"month": "soon"}, headers=headers)
    assert got.status_code == 422
