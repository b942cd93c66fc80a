"""Holds and releases run statements built once and kept (leads.writes._BUILT, the cart's
functools.cache'd templates), their values bound at each execution: every call's rows carry
that call's own values (prices by tier, priority windows, bulk, all-or-nothing, lapsed holds
re-taken, releases, extensions), never an earlier call's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import versions as data_versions
from aiqleads.models import Lead
from aiqleads.models.enums import Tier
from aiqleads.models.hold import Hold
from aiqleads.models.lead_event import LeadEvent
from aiqleads.models.lead_status_history import LeadStatusHistory
from tests.factories import agent, catalog_pages, hold_leads, insert_leads, lead_row, login

CART = "/api/v1/cart"


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> tuple[Any, Any, Any, dict[Any, int]]:
    async with sessions() as s:
        ids = {r.public_id: r.id for r in (await s.execute(select(Lead.public_id, Lead.id)))}
        holds = (await s.scalars(select(Hold).order_by(Hold.id))).all()
        evs = (await s.scalars(select(LeadEvent).order_by(LeadEvent.id))).all()
        hist = (
            await s.scalars(
                select(LeadStatusHistory)
                .where(LeadStatusHistory.cause.in_(["hold", "release"]))
                .order_by(LeadStatusHistory.id)
            )
        ).all()
        return holds, evs, hist, ids


async def test_each_hold_and_release_writes_its_own_values(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    t0 = clock.now()
    old = [lead_row(settings, cipher, now=t0, price_cents=2000) for _ in range(6)]
    old[1]["price_cents"] = 3000
    await insert_leads(sessions, old, now=t0)
    [fresh] = [lead_row(settings, cipher, now=t0, price_cents=4000, published_at=t0)]
    await insert_leads(sessions, [fresh], now=t0)
    basic_acc, basic = await agent(client, sessions, clock, Tier.BASIC)
    ent_acc, ent = await agent(client, sessions, clock, Tier.ENTERPRISE)
    pro_acc, pro = await agent(client, sessions, clock, Tier.PRO)
    basic2_acc, basic2 = await agent(client, sessions, clock, Tier.BASIC)
    a, b, c, d, e, f = (r["public_id"] for r in old)
    expected: list[tuple[Any, int, int, datetime, datetime]] = []  # lead, acc, cents, taken, until

    # 1. basic (window, 0%) holds a; enterprise (no window, 25%) holds b ($30)
    assert _hold_ok(await hold_leads(client, basic, [a]))
    expected.append((a, basic_acc.id, 2000, t0, t0 + timedelta(minutes=15)))
    clock.advance(timedelta(seconds=7))
    t1 = clock.now()
    assert _hold_ok(await hold_leads(client, ent, [b]))
    expected.append((b, ent_acc.id, 2250, t1, t1 + timedelta(minutes=1440)))
    # 2. pro (15%) bulk-holds c, d, e in one request (no version bump in the statement)
    clock.advance(timedelta(seconds=11))
    t2 = clock.now()
    assert _hold_ok(await hold_leads(client, pro, [c, d, e]), 3)
    for x in (c, d, e):
        expected.append((x, pro_acc.id, 1700, t2, t2 + timedelta(minutes=120)))
    # 3. all_or_nothing refused (fresh not visible to basic yet): nothing of f kept
    clock.advance(timedelta(seconds=13))
    t3 = clock.now()
    refused = await hold_leads(client, basic2, [f, fresh["public_id"]], all_or_nothing=True)
    assert clock.now() == t3
    assert [i["refused"] for i in refused["items"]] == ["not_all_held", "not_visible_yet"]
    # 4. after the window, another basic agent holds the fresh lead (window bound anew)
    clock.advance(timedelta(minutes=31))
    t4 = clock.now()
    basic2 = await login(client, basic2_acc.email)
    assert _hold_ok(await hold_leads(client, basic2, [fresh["public_id"]]))
    expected.append((fresh["public_id"], basic2_acc.id, 4000, t4, t4 + timedelta(minutes=15)))
    # 5. a's basic hold lapsed (15 min): enterprise re-takes it, the 'held' branch first
    ent = await login(client, ent_acc.email)
    assert _hold_ok(await hold_leads(client, ent, [a]))
    expected.append((a, ent_acc.id, 1500, t4, t4 + timedelta(minutes=1440)))
    # 6. pro releases d, extends e
    clock.advance(timedelta(seconds=17))
    t5 = clock.now()
    pro = await login(client, pro_acc.email)
    assert (await client.delete(f"{CART}/holds/{d}", headers=pro)).status_code == 204
    ext = await client.post(f"{CART}/holds/{e}/extend", headers=pro)
    assert ext.status_code == 200, ext.text
    # 7. enterprise then holds d (released: available again), and f
    clock.advance(timedelta(seconds=19))
    t6 = clock.now()
    assert _hold_ok(await hold_leads(client, ent, [d]))
    expected.append((d, ent_acc.id, 1500, t6, t6 + timedelta(minutes=1440)))
    assert _hold_ok(await hold_leads(client, basic2, [f]))
    expected.append((f, basic2_acc.id, 2000, t6, t6 + timedelta(minutes=15)))

    holds, evs, hist, ids = await _rows(sessions)
    got = [
        (h.lead_id, h.account_id, h.price_cents, h.currency, h.taken_at, h.held_until)
        for h in holds
    ]
    want = [(ids[x], acc, cents, "USD", tk, un) for x, acc, cents, tk, un in expected]
    # e's record was extended by 120 minutes
    e_until = t2 + timedelta(minutes=240)
    want = [w if w[0] != ids[e] else (*w[:5], e_until) for w in want]
    assert got == want
    ended = {(h.lead_id, h.account_id): (h.end_reason, h.ended_at) for h in holds if h.ended_at}
    assert ended == {
        (ids[a], basic_acc.id): ("expired", t4),
        (ids[d], pro_acc.id): ("released", t5),
    }
    hold_events = [(ev.lead_id, ev.account_id, ev.at, ev.data) for ev in evs if ev.kind == "hold"]
    assert hold_events == [
        (ids[x], acc, tk, {"until": un.isoformat(), "price_cents": cents})
        for x, acc, cents, tk, un in expected
    ]
    releases = [(ev.lead_id, ev.account_id, ev.at) for ev in evs if ev.kind == "release"]
    assert releases == [(ids[d], pro_acc.id, t5)]
    history = [(h.lead_id, h.status_from, h.status_to, h.cause, h.changed_at) for h in hist]
    # (a lapsed hold re-taken, held -> held, is no status change: no history row)
    assert set(history) == {
        *((ids[x], "available", "held", "hold", tk) for x, _, _, tk, _ in expected),
        (ids[d], "held", "available", "release", t5),
    } - {(ids[a], "available", "held", "hold", t4)}
    assert len(history) == len(expected)
    # The leads' own columns
    async with sessions() as s:
        leads = {r.id: r for r in (await s.scalars(select(Lead))).all()}
    last = {x: (acc, un) for x, acc, _, _, un in expected}
    for x, (acc, un) in last.items():
        lead = leads[ids[x]]
        assert lead.status == "held" and lead.held_by == acc
        assert lead.held_until == (e_until if x == e else un)


async def _versions(sessions: async_sessionmaker[AsyncSession]) -> dict[Any, int]:
    async with sessions() as s:
        metros = set((await s.scalars(select(Lead.metro))).all())
        return {m: await data_versions.current(s, m) for m in metros}


def _hold_ok(answer: dict[str, Any], n: int = 1) -> bool:
    assert answer["held"] == n, answer
    return True


async def test_a_hold_hides_the_lead_from_others_catalog_at_once(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    rows = [lead_row(settings, cipher, now=clock.now()) for _ in range(2)]
    await insert_leads(sessions, rows, now=clock.now())
    _, first = await agent(client, sessions, clock, Tier.ENTERPRISE)
    _, second = await agent(client, sessions, clock, Tier.PRO)
    want = sorted(str(r["public_id"]) for r in rows)
    before = await catalog_pages(client, second, {"status": "available"})
    assert sorted(i["id"] for i in before) == want
    versions = await _versions(sessions)
    for n, row in enumerate(rows):
        assert _hold_ok(await hold_leads(client, first, [row["public_id"]]))
        # the data version of the lead's metro moved (in the hold's own statement on PostgreSQL)
        now_versions = await _versions(sessions)
        async with sessions() as s:
            metro = await s.scalar(select(Lead.metro).where(Lead.public_id == row["public_id"]))
        assert now_versions[metro] == versions[metro] + 1, (metro, versions, now_versions)
        versions = now_versions
        after = await catalog_pages(client, second, {"status": "available"})
        assert sorted(i["id"] for i in after) == sorted(str(r["public_id"]) for r in rows[n + 1 :])
    released = await client.delete(f"{CART}/holds/{rows[0]['public_id']}", headers=first)
    assert released.status_code == 204
    again = await catalog_pages(client, second, {"status": "available"})
    assert [i["id"] for i in again] == [str(rows[0]["public_id"])]
