"""Catalog pages shared between agents (leads/page_cache.py): shared only when they read the same
for every agent of the class, and stale exactly when the answer changes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.db.row_reads import SessionRows
from aiqleads.kit.cache import MemoryCache
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads.page_cache import PageCache
from aiqleads.models import Lead, Purchase
from aiqleads.models.enums import Tier
from tests.factories import agent, insert_leads, lead_row, login
from tests.gates import Gate

LEADS = "/api/v1/leads"
CART_HOLDS = "/api/v1/cart/holds"
EXACT_KEYS = {"street_address", "unit", "latitude", "longitude", "owner", "source_url", "title"}


def _hits() -> float:
    return REGISTRY.get_sample_value("aiq_cache_hits_total", {"cache": "catalog"}) or 0.0


async def _seed(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    n: int = 3,
) -> list[dict[str, Any]]:
    rows = [lead_row(settings, cipher, now=clock.now()) for _ in range(n)]
    await insert_leads(sessions, rows)
    return rows


async def test_agents_of_a_tier_share_a_page_until_a_hold_changes_it(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given three leads on the market and two pro agents
    rows = await _seed(sessions, settings, cipher, clock)
    _, first = await agent(client, sessions, clock, Tier.PRO)
    second_account, second = await agent(client, sessions, clock, Tier.PRO)
    # When both search the same page
    before = _hits()
    a = await client.get(LEADS, params={"metro": "seattle"}, headers=first)
    b = await client.get(LEADS, params={"metro": "seattle"}, headers=second)
    # Then the second is served the first's bytes from the cache
    assert a.status_code == b.status_code == 200, a.text
    assert a.content == b.content
    assert _hits() == before + 1
    # When the first holds a lead, then the second searches again
    lead = str(rows[0]["public_id"])
    held = await client.post(CART_HOLDS, json={"lead_ids": [lead]}, headers=first)
    assert held.json()["held"] == 1, held.text
    again = (await client.get(LEADS, params={"metro": "seattle"}, headers=second)).json()
    # Then the page shows the hold at once (the write moved the key)
    status = {item["id"]: item["status"] for item in again["items"]}
    assert status[lead] == "held"
    # And when the hold lapses (no write happens), the page reads it available at once
    clock.advance(timedelta(days=1))
    second = await login(client, second_account.email)  # (its token lapsed too)
    lapsed = (await client.get(LEADS, params={"metro": "seattle"}, headers=second)).json()
    assert {item["id"]: item["status"] for item in lapsed["items"]}[lead] == "available"


async def test_tiers_with_other_discounts_get_their_own_prices(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given leads priced $20 and a pro (15 % off) and an enterprise (25 % off) agent
    await _seed(sessions, settings, cipher, clock)
    _, pro = await agent(client, sessions, clock, Tier.PRO)
    _, enterprise = await agent(client, sessions, clock, Tier.ENTERPRISE)
    # When both search the same page, the pro agent first
    p = (await client.get(LEADS, headers=pro)).json()["items"]
    e = (await client.get(LEADS, headers=enterprise)).json()["items"]
    # Then each sees its own tier's price
    assert {i["price"]["cents"] for i in p} == {1700}
    assert {i["price"]["cents"] for i in e} == {1500}


async def test_a_page_with_a_bought_lead_is_never_shared(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a lead on the market that one agent bought (a purchase row beside an available
    # lead: what no checkout leaves, so only this guard stands between the buyer's page and
    # another agent)
    rows = await _seed(sessions, settings, cipher, clock)
    buyer, buyer_headers = await agent(client, sessions, clock, Tier.PRO)
    _, other = await agent(client, sessions, clock, Tier.PRO)
    async with transaction(sessions) as session:
        lead_id = await session.scalar(
            select(Lead.id).where(Lead.public_id == rows[0]["public_id"])
        )
        assert lead_id is not None
        session.add(
            Purchase(
                lead_id=lead_id,
                account_id=buyer.id,
                price_cents=1700,
                currency="USD",
                purchased_at=clock.now(),
            )
        )
    lead = str(rows[0]["public_id"])
    # When the buyer searches first, then the other agent the same page
    mine = (await client.get(LEADS, headers=buyer_headers)).json()["items"]
    theirs = await client.get(LEADS, headers=other)
    # Then the buyer sees its lead in full and the other agent only its preview
    assert {i["id"]: i["access"] for i in mine}[lead] == "full"
    item = {i["id"]: i for i in theirs.json()["items"]}[lead]
    assert item["access"] == "preview"
    assert EXACT_KEYS.isdisjoint(item)
    assert rows[0]["street_address"] not in theirs.text


def _pages() -> PageCache:
    # Keys are given here, never read: the reader is a session bound to nothing.
    return PageCache(MemoryCache(), keys=SessionRows(AsyncSession()), namespace="t", ttl_seconds=60)


async def test_agents_sending_one_search_at_once_build_its_page_once() -> None:
    # Given five agents of one class sending the same search at once
    pages, build = _pages(), Gate("page")
    before = _hits()
    asking = [asyncio.create_task(pages.get_or_build("k", build)) for _ in range(5)]
    await asyncio.sleep(0)
    # When the first one's page is built
    build.release.set()
    # Then it was built once, the four others were served it (as hits), and it is stored
    assert await asyncio.gather(*asking) == [b"page 1"] * 5
    assert build.calls == 1 and _hits() == before + 4
    assert await pages.cache.get("k") == b"page 1"


async def test_a_page_not_to_share_is_built_again_for_each_agent_who_waited() -> None:
    # Given a page whose build finds a lead on it bought (not to be shared), and two more
    # agents asking for it meanwhile
    pages, build = _pages(), Gate("page", shareable=False)
    asking = [asyncio.create_task(pages.get_or_build("k", build)) for _ in range(3)]
    await asyncio.sleep(0)
    build.release.set()
    # Then each got a page built for it, and none was stored
    assert sorted(await asyncio.gather(*asking)) == [b"page 1", b"page 2", b"page 3"]
    assert await pages.cache.get("k") is None
