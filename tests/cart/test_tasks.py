"""The hold sweeper on a controllable clock: it sends each "hold expiring" notice once (again
after an extension), ends lapsed holds in the database with an `expire` event each, tells the
holder and the market, and counts the holds still active."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.cart.tasks import sweep_holds
from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as events
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Hold, Lead
from aiqleads.models.enums import Tier
from aiqleads.notices import MARKET, InProcessNotices, account_channel
from aiqleads.observability.metrics import ACTIVE_HOLDS, HOLDS_EXPIRED
from aiqleads.worker.context import TaskContext
from aiqleads.worker.dispatcher import Dispatcher
from tests.factories import agent, insert_leads, lead_row, login

CART = "/api/v1/cart"


async def _hold(client: httpx.AsyncClient, headers: dict[str, str], ids: list[Any]) -> None:
    res = await client.post(
        f"{CART}/holds", json={"lead_ids": [str(i) for i in ids]}, headers=headers
    )
    assert res.status_code == 200 and res.json()["held"] == len(ids), res.text


async def _leads(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    n: int,
) -> list[Any]:
    rows = [lead_row(settings, cipher, now=clock.now()) for _ in range(n)]
    await insert_leads(sessions, rows, now=clock.now())
    return [r["public_id"] for r in rows]


def _types(received: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
    return [(channel, message["type"]) for channel, message in received]


async def test_the_sweeper_warns_once_then_ends_lapsed_holds(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    task_ctx: TaskContext,
) -> None:
    # Given a basic agent holding two leads for 15 minutes and a pro agent one for 2 hours
    a, b, c = await _leads(sessions, settings, cipher, clock, 3)
    basic, basic_headers = await agent(client, sessions, clock, Tier.BASIC)
    pro, pro_headers = await agent(client, sessions, clock, Tier.PRO)
    await _hold(client, basic_headers, [a, b])
    await _hold(client, pro_headers, [c])
    notices = task_ctx.notices
    assert isinstance(notices, InProcessNotices)
    expired_before = HOLDS_EXPIRED.labels(reason="expired")._value.get()
    async with (
        notices.subscribe([account_channel(basic.id)]) as basic_feed,
        notices.subscribe([account_channel(pro.id)]) as pro_feed,
        notices.subscribe([MARKET]) as market,
    ):
        # When the sweeper runs with 6 minutes left: nothing to say yet
        clock.advance(timedelta(minutes=9))
        await sweep_holds(task_ctx)
        assert basic_feed.received() == []  # type: ignore[attr-defined]
        # When it runs with 4.5 minutes left, the holder is warned once per hold
        clock.advance(timedelta(minutes=1, seconds=30))
        await sweep_holds(task_ctx)
        warned = basic_feed.received()  # type: ignore[attr-defined]
        assert sorted(m["lead_id"] for _, m in warned) == sorted([str(a), str(b)])
        assert {m["type"] for _, m in warned} == {"hold_expiring"}
        assert {m["minutes_left"] for _, m in warned} == {4.5}
        assert {m["held_until"] for _, m in warned} == {
            (clock.now() + timedelta(minutes=4.5)).isoformat()
        }
        clock.advance(timedelta(minutes=1))
        await sweep_holds(task_ctx)
        assert basic_feed.received() == []  # type: ignore[attr-defined]
        # When their time is up: the holds end, the leads are available, each end is logged
        clock.advance(timedelta(minutes=3, seconds=30))
        await sweep_holds(task_ctx)
        ended = basic_feed.received()  # type: ignore[attr-defined]
        assert sorted(m["lead_id"] for _, m in ended) == sorted([str(a), str(b)])
        assert {(m["type"], m["reason"]) for _, m in ended} == {("hold_expired", "expired")}
        [(_, freed)] = market.received()  # type: ignore[attr-defined]
        assert freed["type"] == "leads_available"
        assert freed["lead_ids"] == sorted([str(a), str(b)])
        assert pro_feed.received() == []  # type: ignore[attr-defined]
    async with transaction(sessions) as session:
        leads = dict(
            (
                await session.execute(
                    select(Lead.public_id, Lead.status).where(Lead.public_id.in_([a, b, c]))
                )
            ).all()
        )
        holds = (await session.execute(select(Hold.lead_id, Hold.end_reason, Hold.ended_at))).all()
        ids = dict((await session.execute(select(Lead.public_id, Lead.id))).all())
        logged = await events.for_lead(session, ids[a])
    assert leads == {a: "available", b: "available", c: "held"}
    assert sorted((r.end_reason, r.ended_at) for r in holds if r.lead_id != ids[c]) == [
        ("expired", clock.now()),
        ("expired", clock.now()),
    ]
    assert logged[-1] == ("expire", basic.id)
    assert ACTIVE_HOLDS._value.get() == 1
    assert HOLDS_EXPIRED.labels(reason="expired")._value.get() == expired_before + 2
    # And a second sweep finds nothing more to do
    async with notices.subscribe([account_channel(basic.id), MARKET]) as feed:
        await sweep_holds(task_ctx)
        assert feed.received() == []  # type: ignore[attr-defined]


async def test_an_extended_hold_is_warned_again_before_its_new_end(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    task_ctx: TaskContext,
) -> None:
    # Given a pro agent's hold (2 hours, one extension), warned 4 minutes before its end
    [lead] = await _leads(sessions, settings, cipher, clock, 1)
    pro, headers = await agent(client, sessions, clock, Tier.PRO)
    await _hold(client, headers, [lead])
    async with task_ctx.notices.subscribe([account_channel(pro.id)]) as feed:
        clock.advance(timedelta(minutes=116))
        await sweep_holds(task_ctx)
        assert _types(feed.received()) == [(f"account:{pro.id}", "hold_expiring")]  # type: ignore[attr-defined]
        # When the agent extends it by 2 hours, nothing is said until 5 minutes before the new end
        headers = await login(client, pro.email)  # the first session's token has expired
        res = await client.post(f"{CART}/holds/{lead}/extend", headers=headers)
        assert res.status_code == 200, res.text
        clock.advance(timedelta(minutes=100))
        await sweep_holds(task_ctx)
        assert feed.received() == []  # type: ignore[attr-defined]
        clock.advance(timedelta(minutes=21))  # the new end: 2 hours after the first one
        await sweep_holds(task_ctx)
        # Then it is warned once more
        [(_, warned)] = feed.received()  # type: ignore[attr-defined]
        assert (warned["type"], warned["minutes_left"]) == ("hold_expiring", 3.0)


async def test_the_sweeper_is_on_the_schedule(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    task_ctx: TaskContext,
) -> None:
    # Given a lapsed hold and the embedded dispatcher with its schedule
    [lead] = await _leads(sessions, settings, cipher, clock, 1)
    _, headers = await agent(client, sessions, clock, Tier.BASIC)
    await _hold(client, headers, [lead])
    clock.advance(timedelta(minutes=16))
    # When the dispatcher runs what the schedule says is due
    await Dispatcher(task_ctx, mode="run").drain()
    # Then the sweeper ran and stored the lead as available again
    async with transaction(sessions) as session:
        status = await session.scalar(select(Lead.status).where(Lead.public_id == lead))
    assert status == "available"
