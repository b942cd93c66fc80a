"""The market hears, once the change commits, that leads were held or released (so other
agents' pages take them off or put them back) and that new leads were stored."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import writes
from aiqleads.models.enums import Tier
from aiqleads.notices import MARKET, InProcessNotices, after_commit
from aiqleads.notices.after_commit import publish_after_commit
from aiqleads.worker.context import TaskContext
from aiqleads.worker.dispatcher import Dispatcher
from tests.factories import agent, insert_leads, lead_row


def _market(received: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, list[str]]]:
    return [(m["type"], sorted(m["lead_ids"])) for c, m in received if c == MARKET]


def _market_types(market: Any) -> list[str]:
    return [m["type"] for c, m in market.received() if c == MARKET]


async def _settled() -> None:
    """Let the publishes scheduled by the commits run (they are tasks of this event loop)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_holds_and_releases_are_told_to_the_market_after_commit(
    app: FastAPI,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given three leads and an agent; the app's market channel listened to
    rows = [lead_row(settings, cipher, now=clock.now()) for _ in range(3)]
    await insert_leads(sessions, rows, now=clock.now())
    ids = sorted(str(r["public_id"]) for r in rows[:2])
    _, headers = await agent(client, sessions, clock, Tier.PRO)
    notices = app.state.aiq.notices  # Redis pub/sub on PostgreSQL runs, in-process on SQLite
    async with notices.subscribe([MARKET]) as market:
        # When the agent holds two leads, then releases one
        held = await client.post("/api/v1/cart/holds", json={"lead_ids": ids}, headers=headers)
        assert held.json()["held"] == 2
        released = await client.delete(f"/api/v1/cart/holds/{ids[0]}", headers=headers)
        assert released.status_code == 204
        # And asks again for the one it still holds, with another
        again = await client.post(
            "/api/v1/cart/holds",
            json={"lead_ids": [ids[1], str(rows[2]["public_id"])], "all_or_nothing": True},
            headers=headers,
        )
        assert again.json()["held"] == 2  # the same hold, and the third lead
        # And fails one all-or-nothing request, and releases a lead it does not hold
        refused = await client.post(
            "/api/v1/cart/holds",
            json={"lead_ids": [ids[0], str(uuid.uuid4())], "all_or_nothing": True},
            headers=headers,
        )
        assert refused.json()["held"] == 0
        assert (
            await client.delete(f"/api/v1/cart/holds/{ids[0]}", headers=headers)
        ).status_code == 404
        # (a request's notices are published after its commit, beside its answer)
        await after_commit.published()
        await notices.publish(MARKET, {"type": "end", "lead_ids": []})
        # Then the market heard each committed change once, in order, with public ids only,
        # and nothing of the requests that changed nothing
        heard = []
        while (notice := await asyncio.wait_for(anext(market), timeout=10))[1]["type"] != "end":
            heard.append(notice)
        assert _market(heard) == [
            ("leads_held", ids),
            ("leads_available", [ids[0]]),
            ("leads_held", sorted([ids[1], str(rows[2]["public_id"])])),
        ]


async def test_a_notice_queued_in_a_transaction_that_rolls_back_is_never_sent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    notices = InProcessNotices()
    async with notices.subscribe([MARKET]) as market:
        # Given a notice queued in a transaction that then fails
        with pytest.raises(RuntimeError):
            async with transaction(sessions) as session:
                publish_after_commit(session, notices, MARKET, {"type": "leads_held"})
                raise RuntimeError("the hold failed")
        # And one queued inside a savepoint that is released, in a transaction that commits
        async with transaction(sessions) as session:
            async with session.begin_nested():
                publish_after_commit(session, notices, MARKET, {"type": "leads_available"})
            assert _market_types(market) == []  # not at the savepoint: the outer may roll back
        await _settled()
        # Then only the committed one was published
        assert _market_types(market) == ["leads_available"]


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
