"""The event log: views recorded in batches off the request, actions with their change, and
an agent's cart, orders and purchases never seen by another agent."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import LeadEvent
from aiqleads.models.enums import Tier
from tests.factories import agent, insert_leads, lead_row


async def _events(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, int | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(LeadEvent.kind, LeadEvent.account_id).order_by(LeadEvent.id)
        )
        return [(k, a) for k, a in rows]


async def test_views_are_recorded_in_a_batch_after_the_answer(
    app: FastAPI,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a lead and an agent
    row = lead_row(settings, cipher, now=clock.now())
    await insert_leads(sessions, [row])
    account, headers = await agent(client, sessions, clock, Tier.PRO)
    # And the recorder's periodic flush (every second) stopped: this test flushes it itself,
    # which a slow machine would otherwise race
    await app.state.aiq.views.stop()
    # When the agent opens its preview three times, and asks for one that does not exist
    for _ in range(3):
        assert (
            await client.get(f"/api/v1/leads/{row['public_id']}", headers=headers)
        ).status_code == 200
    # Then nothing is written while answering; the recorder's flush appends three views
    assert await _events(sessions) == []
    assert await app.state.aiq.views.flush() == 3
    assert await _events(sessions) == [("view", account.id)] * 3
    assert await app.state.aiq.views.flush() == 0


async def test_a_cart_is_its_agents_own(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    row = lead_row(settings, cipher, now=clock.now())
    await insert_leads(sessions, [row])
    _, first = await agent(client, sessions, clock, Tier.PRO)
    _, second = await agent(client, sessions, clock, Tier.PRO)
    held = await client.post(
        "/api/v1/cart/holds", json={"lead_ids": [str(row["public_id"])]}, headers=first
    )
    assert held.json()["held"] == 1
    assert (await client.get("/api/v1/cart", headers=second)).json()["items"] == []
    released = await client.delete(f"/api/v1/cart/holds/{row['public_id']}", headers=second)
    assert released.status_code == 404
    assert len((await client.get("/api/v1/cart", headers=first)).json()["items"]) == 1


async def test_an_enterprise_api_key_holds_in_bulk_and_checks_out(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given 120 leads and an enterprise account's API key (bulk size 1,000; basic's is 10)
    rows = [lead_row(settings, cipher, now=clock.now()) for _ in range(120)]
    await insert_leads(sessions, rows)
    _, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    key = (await client.post("/api/v1/auth/api-keys", json={"name": "crm"}, headers=headers)).json()
    api = {"X-API-Key": key["key"]}
    # When the program holds all of them in one request and checks out
    answer = await client.post(
        "/api/v1/cart/holds", json={"lead_ids": [str(r["public_id"]) for r in rows]}, headers=api
    )
    assert answer.status_code == 200 and answer.json()["held"] == 120
    paid = await client.post("/api/v1/checkout", headers={**api, "Idempotency-Key": "crm-1"})
    # Then all 120 are bought, at the enterprise discount
    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert body["status"] == "paid" and len(body["items"]) == 120
    assert body["total"]["cents"] == 120 * 1500
