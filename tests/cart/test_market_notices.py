"""The market hears, once the change commits, that leads were held or released (so other
agents' pages take them off or put them back) and that new leads were stored."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import writes
from aiqleads.models.enums import Tier
from aiqleads.notices import MARKET, InProcessNotices
from aiqleads.worker.context import TaskContext
from aiqleads.worker.dispatcher import Dispatcher
from tests.factories import agent, insert_leads, lead_row


def _market(received: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, list[str]]]:
    return [(m["type"], sorted(m["lead_ids"])) for c, m in received if c == MARKET]


async def test_holds_and_releases_are_told_to_the_market_after_commit(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    task_ctx: TaskContext,
) -> None:
    # Given two leads and an agent; the market channel listened to
    rows = [lead_row(settings, cipher, now=clock.now()) for _ in range(3)]
    await insert_leads(sessions, rows, now=clock.now())
    ids = sorted(str(r["public_id"]) for r in rows[:2])
    _, headers = await agent(client, sessions, clock, Tier.PRO)
    notices = task_ctx.notices
    assert isinstance(notices, InProcessNotices)
    runner = Dispatcher(task_ctx, mode="run", schedule=False)
    await runner.drain()  # the insert's own announcement
    async with notices.subscribe([MARKET]) as market:
        # When the agent holds two leads, then releases one
        held = await client.post("/api/v1/cart/holds", json={"lead_ids": ids}, headers=headers)
        assert held.json()["held"] == 2
        await runner.drain()
        released = await client.delete(f"/api/v1/cart/holds/{ids[0]}", headers=headers)
        assert released.status_code == 204
        # And asks again for the one it still holds, with another
        again = await client.post(
            "/api/v1/cart/holds",
            json={"lead_ids": [ids[1], str(rows[2]["public_id"])], "all_or_nothing": True},
            headers=headers,
        )
        assert again.json()["held"] == 2  # the same hold, and the third lead
        await runner.drain()
        # Then the market heard each change once, in order, with public ids only
        assert _market(market.received()) == [  # type: ignore[attr-defined]
            ("leads_held", ids),
            ("leads_available", [ids[0]]),
            ("leads_held", sorted([ids[1], str(rows[2]["public_id"])])),
        ]


async def test_new_leads_are_announced_once_stored(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    task_ctx: TaskContext,
) -> None:
    notices = task_ctx.notices
    assert isinstance(notices, InProcessNotices)
    runner = Dispatcher(task_ctx, mode="run", schedule=False)
    async with notices.subscribe([MARKET]) as market:
        # When a source stores two new leads, then updates one of them
        rows = [lead_row(settings, cipher, now=clock.now()) for _ in range(2)]
        async with transaction(sessions) as session:
            await writes.upsert(session, rows, now=clock.now(), cause="test")
        async with transaction(sessions) as session:
            await writes.upsert(session, rows[:1], now=clock.now(), cause="test")
        await runner.drain()
        # Then the market heard of the two new ones once; the update is no news
        told = _market(market.received())  # type: ignore[attr-defined]
        assert [(kind, len(ids)) for kind, ids in told] == [("leads_published", 2)]
