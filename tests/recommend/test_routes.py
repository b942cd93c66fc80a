"""GET /api/v1/recommendations and /api/v1/me/preferences: exclusions, cold start,
diversification, learned preferences, bad input."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import h3
import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as event_log
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead
from aiqleads.models.enums import EventKind, Tier
from aiqleads.recommend.tasks import outcomes
from aiqleads.worker import TaskContext
from tests.factories import agent, insert_leads, lead_row, make_account, record_purchase

URL = "/api/v1/recommendations"


async def _ids(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    res = await client.get(URL, params={"limit": 50, **params}, headers=headers)
    assert res.status_code == 200, res.text
    return [item["id"] for item in res.json()["items"]]


async def test_only_leads_the_agent_may_buy_now_are_recommended(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given an available lead, one held, one sold, one withheld as a suspected scam, and one
    # published 10 minutes ago (inside a basic agent's 30-minute priority window)
    now = clock.now()
    rows = {
        "free": lead_row(settings, cipher, now=now),
        "held": lead_row(settings, cipher, now=now, status="held"),
        "sold": lead_row(settings, cipher, now=now),
        "withheld": lead_row(settings, cipher, now=now, blocked_reason="scam_signals"),
        "new": lead_row(settings, cipher, now=now, published_at=now - timedelta(minutes=10)),
    }
    await insert_leads(sessions, list(rows.values()), now=now)
    buyer = await make_account(sessions, now=now)
    await record_purchase(
        sessions, lead_public_id=rows["sold"]["public_id"], account=buyer, now=now
    )
    _, basic = await agent(client, sessions, clock, tier=Tier.BASIC)
    _, enterprise = await agent(client, sessions, clock, tier=Tier.ENTERPRISE)

    # When each asks for recommendations
    basic_ids = await _ids(client, basic)
    enterprise_ids = await _ids(client, enterprise)

    # Then neither gets a held, sold or withheld lead, and the basic agent not the new one yet
    assert basic_ids == [str(rows["free"]["public_id"])]
    assert sorted(enterprise_ids) == sorted(str(rows[k]["public_id"]) for k in ("free", "new"))


async def test_a_new_agent_gets_its_stated_territory_first_with_reasons(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given leads in two ZIPs, and a new agent (no events) who states one ZIP and a price range
    now = clock.now()
    inside = [
        lead_row(settings, cipher, now=now, zip_code="98115", latitude=47.68 + i * 0.01)
        for i in range(3)
    ]
    outside = [lead_row(settings, cipher, now=now, zip_code="98101") for _ in range(3)]
    await insert_leads(sessions, inside + outside, now=now)
    _, headers = await agent(client, sessions, clock)
    put = await client.put(
        "/api/v1/me/preferences",
        json={"zip_codes": ["98115"], "price_min": 400_000, "price_max": 600_000},
        headers=headers,
    )
    assert put.status_code == 200, put.text

    # When it asks for recommendations
    res = await client.get(URL, params={"limit": 10}, headers=headers)

    # Then only its ZIP's leads come (its territory), ranked by the cold-start scorer, with
    # a reason in words
    assert res.status_code == 200, res.text
    assert res.headers["X-Recommender-Version"] == "cold-start-1"
    items = res.json()["items"]
    assert {i["id"] for i in items} == {str(r["public_id"]) for r in inside}
    assert [i["rank"] for i in items] == [1, 2, 3]
    assert all(i["reason"].startswith("In your ZIP 98115; in your price range") for i in items)
    assert all(i["access"] == "preview" and "latitude" not in i for i in items)


async def test_at_most_max_per_cell_leads_of_one_cell(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given five leads in one H3 res-8 cell and two in other cells
    now = clock.now()
    crowded = [
        lead_row(settings, cipher, now=now, latitude=47.6101 + i * 1e-5, longitude=-122.3301)
        for i in range(5)
    ]
    apart = [
        lead_row(settings, cipher, now=now, latitude=47.70 + i * 0.05, longitude=-122.40)
        for i in range(2)
    ]
    await insert_leads(sessions, crowded + apart, now=now)
    _, headers = await agent(client, sessions, clock)

    # When an agent asks for ten
    res = await client.get(URL, params={"limit": 10}, headers=headers)

    # Then at most two (the default max_per_cell) come from the crowded cell
    items = res.json()["items"]
    cells = [i["location"]["h3_cell"] for i in items]
    assert max(cells.count(c) for c in cells) == settings.recommend.max_per_cell == 2
    assert len(items) == 4


async def test_learned_preferences_come_from_the_agents_events(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given an agent that viewed and held leads in 98115, priced 300-500k
    now = clock.now()
    rows = [
        lead_row(
            settings, cipher, now=now, zip_code="98115", asking_price_cents=(300_000 + i) * 100
        )
        for i in range(0, 200_001, 50_000)
    ]
    await insert_leads(sessions, rows, now=now)
    account, headers = await agent(client, sessions, clock)
    async with transaction(sessions) as session:
        ids = await _lead_ids(session, [r["public_id"] for r in rows])
        await event_log.append(
            session,
            [
                event_log.event(kind, account_id=account.id, lead_id=i, at=now - timedelta(hours=1))
                for i in ids
                for kind in (EventKind.VIEW, EventKind.HOLD)
            ],
        )

    # When it reads its preferences
    res = await client.get("/api/v1/me/preferences", headers=headers)

    # Then what it states is empty and what it did is learned: the ZIP, the price range
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["stated"]["zip_codes"] == []
    learned = body["learned"]
    assert learned["events"] == 10
    assert learned["zip_codes"] == ["98115"]
    assert learned["kinds"] == {"for_sale": 1.0}
    assert 300_000 <= learned["price_min"] <= learned["price_max"] <= 500_000


async def _lead_ids(session: AsyncSession, public_ids: list[Any]) -> list[int]:
    found = await session.scalars(select(Lead.id).where(Lead.public_id.in_(public_ids)))
    return list(found.all())


async def test_bad_preferences_and_limits_are_refused_with_a_reason(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock)
    fine_cell = h3.latlng_to_cell(47.6, -122.3, 9)
    cases = [
        ({"h3_cells": ["not-a-cell"]}, "h3_cells"),
        ({"h3_cells": [fine_cell]}, "h3_cells"),  # finer than the preview cell
        ({"center_lat": 47.6, "center_lon": -122.3}, "radius_m"),
        ({"price_min": 5, "price_max": 1}, "price_min"),
        ({"zip_codes": ["9810"]}, "zip_codes"),
    ]
    for body, field in cases:
        res = await client.put("/api/v1/me/preferences", json=body, headers=headers)
        assert res.status_code == 422, (body, res.text)
        assert field in res.text
    res = await client.get(URL, params={"limit": 500}, headers=headers)
    assert res.status_code == 422 and "limit" in res.text
    cell = h3.latlng_to_cell(47.6, -122.3, 7)
    ok = await client.put(
        "/api/v1/me/preferences",
        json={"h3_cells": [cell], "center_lat": 47.6, "center_lon": -122.3, "radius_m": 2000},
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["stated"]["h3_cells"] == [cell]


async def test_online_accuracy_counts_outcomes_of_served_items_per_version(
    app: FastAPI,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    task_ctx: TaskContext,
) -> None:
    # Given an agent served three recommendations, who then opens two and holds one of them,
    # and opens a lead it was never recommended
    now = clock.now()
    rows = [lead_row(settings, cipher, now=now, latitude=47.6 + i * 0.01) for i in range(4)]
    await insert_leads(sessions, rows, now=now)
    account, headers = await agent(client, sessions, clock)
    served = await _ids(client, headers, limit=3)
    assert await app.state.aiq.impressions.flush() == 3  # the recorder's next flush
    async with transaction(sessions) as session:
        found = await session.execute(select(Lead.public_id, Lead.id))
        by_public = {public_id: lead_id for public_id, lead_id in found}
        ids = [by_public[uuid.UUID(p)] for p in served]
        other = next(i for p, i in by_public.items() if str(p) not in served)
        at = now + timedelta(seconds=30)
        await event_log.append(
            session,
            [
                event_log.event(EventKind.VIEW, account_id=account.id, lead_id=ids[0], at=at),
                event_log.event(EventKind.VIEW, account_id=account.id, lead_id=ids[1], at=at),
                event_log.event(EventKind.HOLD, account_id=account.id, lead_id=ids[1], at=at),
                event_log.event(EventKind.VIEW, account_id=account.id, lead_id=other, at=at),
            ],
        )
    before = {o: _outcomes("cold-start-1", o) for o in ("opened", "held", "bought")}

    # When the outcomes task runs after the period
    clock.advance(timedelta(seconds=60))
    await outcomes(task_ctx)

    # Then the version's counters rose by what followed its recommendations only
    after = {o: _outcomes("cold-start-1", o) for o in ("opened", "held", "bought")}
    assert {o: after[o] - before[o] for o in after} == {"opened": 2, "held": 1, "bought": 0}


def _outcomes(version: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "aiq_recommendation_outcomes_total", {"model_version": version, "outcome": outcome}
    )
    return value or 0.0
