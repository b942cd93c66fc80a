"""The operators' quarantine endpoints: the same service as `aiqleads quarantine list|retry`,
for admins only."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.factories import admin, agent
from tests.ingestion.conftest import kc_document

from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.kit.clock import FrozenClock

URL = "/api/v1/admin/quarantine"


async def test_admins_list_quarantined_records_and_retry_them_after_a_fix(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    make_pipeline: Callable[..., Pipeline],
    clock: FrozenClock,
) -> None:
    # Given sales quarantined by a price rule too strict for King County
    strict = make_pipeline(max_sale_price_cents=100_000_00, min_rent_cents=1)
    summary = await strict.run(sessions, [kc_document(6)], metro="seattle", now=clock.now())
    held = summary.quarantined_by_reason["price_implausible"]
    assert held >= 4
    headers = await admin(client, sessions, clock)
    # When an admin lists them, page by page
    first = await client.get(URL, params={"limit": held - 1}, headers=headers)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == held - 1 and page["next_after"] == page["items"][-1]["id"]
    item = page["items"][0]
    assert (item["source"], item["stage"], item["reason"]) == (
        "king_county_sales",
        "validate",
        "price_implausible",
    )
    assert "raw" not in item  # the payload may hold owner contacts: it stays in the database
    rest = await client.get(URL, params={"after": page["next_after"]}, headers=headers)
    assert len(rest.json()["items"]) == 1
    # When a row that does not exist is retried, the answer says so
    missing = await client.post(f"{URL}/retry", json={"id": 10_000}, headers=headers)
    assert missing.status_code == 404
    # When one row is retried under the app's own (sane) rules, it resolves
    one = await client.post(f"{URL}/retry", json={"id": item["id"]}, headers=headers)
    assert one.status_code == 200, one.text
    assert (one.json()["retried"], one.json()["resolved"]) == (1, 1)
    # And retrying the source resolves the rest
    rest_retry = await client.post(
        f"{URL}/retry", json={"source": "king_county_sales"}, headers=headers
    )
    assert rest_retry.json()["resolved"] == held - 1
    assert (await client.get(URL, headers=headers)).json()["items"] == []
    everything = await client.get(URL, params={"include_resolved": "true"}, headers=headers)
    assert len(everything.json()["items"]) == held


async def test_agents_may_not_see_or_retry_the_quarantine(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock)
    assert (await client.get(URL, headers=headers)).status_code == 403
    assert (await client.post(f"{URL}/retry", json={}, headers=headers)).status_code == 403
    assert (await client.get(URL)).status_code == 401
