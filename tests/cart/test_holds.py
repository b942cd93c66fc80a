"""Holds through the API: prices fixed, tier rules on a controllable clock, bulk, refusals,
release, extension, and a lapsed hold freeing its lead at once for every reader."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.auth.principal import Principal
from aiqleads.cart import service as cart_service
from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as events
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads.visibility import viewer_for
from aiqleads.models import Account, Lead
from aiqleads.models.enums import Tier
from aiqleads.notices import InProcessNotices
from tests.factories import (
    admin,
    agent,
    catalog_pages,
    hold_leads,
    insert_leads,
    lead_row,
    login,
    record_purchase,
)

CART = "/api/v1/cart"


async def _leads(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    n: int,
    **overrides: Any,
) -> list[dict[str, Any]]:
    rows = [lead_row(settings, cipher, now=clock.now(), **overrides) for _ in range(n)]
    await insert_leads(sessions, rows, now=clock.now())
    return rows


def _codes(answer: dict[str, Any]) -> list[str | None]:
    return [i["refused"] for i in answer["items"]]


@pytest.mark.parametrize(
    ("tier", "minutes", "price_cents"),
    [(Tier.BASIC, 15, 2000), (Tier.PRO, 120, 1700), (Tier.ENTERPRISE, 24 * 60, 1500)],
)
async def test_a_hold_fixes_the_tier_price_for_the_tier_duration(
    tier: Tier,
    minutes: int,
    price_cents: int,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a $20.00 lead and an agent of the tier
    [row] = await _leads(sessions, settings, cipher, clock, 1, price_cents=2000)
    _, headers = await agent(client, sessions, clock, tier)
    # When it holds the lead
    answer = await hold_leads(client, headers, [row["public_id"]])
    # Then it is held for the tier's duration at the tier's discounted price
    [item] = answer["items"]
    assert item["held"] and item["refused"] is None
    assert item["price"] == {"cents": price_cents, "currency": "USD"}
    until = clock.now() + timedelta(minutes=minutes)
    assert item["held_until"] == until.isoformat().replace("+00:00", "Z")
    cart = (await client.get(CART, headers=headers)).json()
    assert [c["lead"]["id"] for c in cart["items"]] == [str(row["public_id"])]
    assert cart["total"] == {"cents": price_cents, "currency": "USD"}
    # And the price stays fixed when the lead's price changes afterwards
    await insert_leads(sessions, [{**row, "price_cents": 4000}], now=clock.now())
    again = (await client.get(CART, headers=headers)).json()
    assert again["items"][0]["price"] == {"cents": price_cents, "currency": "USD"}
    assert again["items"][0]["lead"]["status"] == "held"


async def test_a_held_lead_is_refused_to_others_until_its_hold_lapses(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    [row] = await _leads(sessions, settings, cipher, clock, 1)
    first_account, first = await agent(client, sessions, clock, Tier.BASIC)
    second_account, second = await agent(client, sessions, clock, Tier.ENTERPRISE)
    assert (await hold_leads(client, first, [row["public_id"]]))["held"] == 1
    # Another agent is refused, and sees the lead as held
    assert _codes(await hold_leads(client, second, [row["public_id"]])) == ["held_by_other"]
    opened = await client.get(f"/api/v1/leads/{row['public_id']}", headers=second)
    assert opened.json()["status"] == "held"
    # When the basic hold's 15 minutes pass, with no sweeper run
    clock.advance(timedelta(minutes=15))
    first, second = (
        await login(client, first_account.email),
        await login(client, second_account.email),
    )
    # Then every reader sees the lead available at once, and the other agent can hold it
    assert (await client.get(f"/api/v1/leads/{row['public_id']}", headers=second)).json()[
        "status"
    ] == "available"
    available = await catalog_pages(client, second, {"status": "available"})
    assert [i["id"] for i in available] == [str(row["public_id"])]
    assert (await client.get(CART, headers=first)).json()["items"] == []
    assert (await hold_leads(client, second, [row["public_id"]]))["held"] == 1


async def test_cart_limit_bulk_limit_and_all_or_nothing(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    rows = await _leads(sessions, settings, cipher, clock, 14)
    ids = [r["public_id"] for r in rows]
    _, headers = await agent(client, sessions, clock, Tier.BASIC)  # cart 10, bulk 10
    # Twelve at once: the two beyond the bulk size are refused
    answer = await hold_leads(client, headers, ids[:12])
    assert _codes(answer) == [None] * 10 + ["bulk_limit_exceeded"] * 2
    # The cart is full now
    assert _codes(await hold_leads(client, headers, ids[12:13])) == ["cart_limit_reached"]
    # Holding again what is held changes nothing and counts once
    again = await hold_leads(client, headers, ids[:2])
    assert again["held"] == 2 and _codes(again) == [None, None]
    # all_or_nothing: one refusal undoes the whole request
    await client.delete(f"{CART}/holds/{ids[0]}", headers=headers)
    together = await hold_leads(client, headers, [ids[12], ids[13]], all_or_nothing=True)
    assert _codes(together) == ["not_all_held", "cart_limit_reached"]
    assert len((await client.get(CART, headers=headers)).json()["items"]) == 9
    assert _codes(await hold_leads(client, headers, [ids[12]], all_or_nothing=True)) == [None]


async def test_refusal_codes_sold_not_found_and_priority_window(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    sold, withdrawn = await _leads(sessions, settings, cipher, clock, 2)
    await insert_leads(sessions, [{**withdrawn, "listing_status": "Withdrawn"}], now=clock.now())
    [fresh] = await _leads(sessions, settings, cipher, clock, 1, published_at=clock.now())
    buyer, _ = await agent(client, sessions, clock, Tier.PRO)
    await record_purchase(
        sessions, lead_public_id=sold["public_id"], account=buyer, now=clock.now()
    )
    _, basic = await agent(client, sessions, clock, Tier.BASIC)
    _, enterprise = await agent(client, sessions, clock, Tier.ENTERPRISE)
    ids = [sold["public_id"], withdrawn["public_id"], uuid.uuid4(), fresh["public_id"]]
    answer = await hold_leads(client, basic, ids)
    assert _codes(answer) == ["sold", "not_found", "not_found", "not_visible_yet"]
    # The enterprise tier has no window
    assert _codes(await hold_leads(client, enterprise, [fresh["public_id"]])) == [None]


async def _one_place_left(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> dict[str, str]:
    """A basic agent (cart 10) holding 9 leads: the headers of its session."""
    fillers = await _leads(sessions, settings, cipher, clock, 9)
    _, headers = await agent(client, sessions, clock, Tier.BASIC)
    assert (await hold_leads(client, headers, [r["public_id"] for r in fillers]))["held"] == 9
    return headers


@pytest.mark.parametrize(
    "order", [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
)
async def test_the_last_place_of_a_cart_goes_to_the_lead_asked_first_whatever_its_row(
    order: tuple[int, int, int],
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given three leads stored one after the other, and an agent with one place left
    rows = await _leads(sessions, settings, cipher, clock, 3)
    headers = await _one_place_left(client, sessions, settings, cipher, clock)
    asked = [rows[n]["public_id"] for n in order]
    # When it asks for the three, in every order
    answer = await hold_leads(client, headers, asked)
    # Then the first asked is held and the two others refused, whichever rows came first
    assert _codes(answer) == [None, "cart_limit_reached", "cart_limit_reached"]
    assert [i["lead_id"] for i in answer["items"] if i["held"]] == [str(asked[0])]


async def test_the_cart_limit_counts_a_lead_asked_twice_or_already_held_once(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given an agent with one place left, one lead of its cart and two new leads
    first, second = await _leads(sessions, settings, cipher, clock, 2)
    headers = await _one_place_left(client, sessions, settings, cipher, clock)
    held = (await client.get(CART, headers=headers)).json()["items"][-1]["lead"]["id"]
    # When it asks for the later lead twice, a lead it holds, and the earlier lead
    asked = [second["public_id"], held, second["public_id"], first["public_id"]]
    answer = await hold_leads(client, headers, asked)
    # Then each is answered once, in the order given: the later lead takes the last place,
    # the held one stays held, and the earlier lead is refused
    assert [i["lead_id"] for i in answer["items"]] == [str(i) for i in dict.fromkeys(asked)]
    assert _codes(answer) == [None, None, "cart_limit_reached"]
    assert (
        answer["held"] == 2 and len((await client.get(CART, headers=headers)).json()["items"]) == 10
    )


async def test_leads_refused_for_themselves_leave_the_last_place_to_the_next_asked(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a sold lead, a lead held by another agent, a lead inside the basic tier's window,
    # two leads it could hold, and a basic agent with one place left
    sold, taken, earlier, later = await _leads(sessions, settings, cipher, clock, 4)
    [fresh] = await _leads(sessions, settings, cipher, clock, 1, published_at=clock.now())
    buyer, other = await agent(client, sessions, clock, Tier.ENTERPRISE)
    await record_purchase(
        sessions, lead_public_id=sold["public_id"], account=buyer, now=clock.now()
    )
    assert (await hold_leads(client, other, [taken["public_id"]]))["held"] == 1
    headers = await _one_place_left(client, sessions, settings, cipher, clock)
    # When it asks for them all, the holdable ones last and the later row first
    asked = [sold, fresh, taken, later, earlier]
    answer = await hold_leads(client, headers, [r["public_id"] for r in asked])
    # Then the refused ones say why, and the place goes to the first holdable lead asked
    assert _codes(answer) == [
        "sold",
        "not_visible_yet",
        "held_by_other",
        None,
        "cart_limit_reached",
    ]
    # And all_or_nothing refuses the lot the same way
    await client.delete(f"{CART}/holds/{later['public_id']}", headers=headers)
    answer = await hold_leads(client, headers, [r["public_id"] for r in asked], all_or_nothing=True)
    assert _codes(answer) == [
        "sold",
        "not_visible_yet",
        "held_by_other",
        "not_all_held",
        "cart_limit_reached",
    ]


async def test_a_lead_inside_the_window_is_refused_as_such_whatever_its_state(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given four leads published just now: one sold, one held by an enterprise agent (no
    # window), one withdrawn at its source and one available
    sold, held, withdrawn, available = await _leads(
        sessions, settings, cipher, clock, 4, published_at=clock.now()
    )
    await insert_leads(sessions, [{**withdrawn, "listing_status": "Withdrawn"}], now=clock.now())
    buyer, enterprise = await agent(client, sessions, clock, Tier.ENTERPRISE)
    await record_purchase(
        sessions, lead_public_id=sold["public_id"], account=buyer, now=clock.now()
    )
    assert (await hold_leads(client, enterprise, [held["public_id"]]))["held"] == 1
    rows = [sold, held, withdrawn, available]
    # When a basic agent, whose window they are in, asks for them
    asking, basic = await agent(client, sessions, clock, Tier.BASIC)
    answer = await hold_leads(client, basic, [r["public_id"] for r in rows])
    # Then each is refused as not visible yet: the window tells nothing of their states
    assert _codes(answer) == ["not_visible_yet"] * 4
    # And once the window has passed, each says its own state
    clock.advance(timedelta(minutes=settings.tiers[Tier.BASIC.value].priority_delay_minutes))
    basic = await login(client, asking.email)
    answer = await hold_leads(client, basic, [r["public_id"] for r in rows])
    assert _codes(answer) == ["sold", "held_by_other", "not_found", None]


async def test_extensions_follow_the_tier_and_release_frees_the_lead(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    rows = await _leads(sessions, settings, cipher, clock, 3)
    extensions = {Tier.BASIC: 0, Tier.PRO: 1, Tier.ENTERPRISE: 2}
    minutes = {Tier.BASIC: 15, Tier.PRO: 120, Tier.ENTERPRISE: 1440}
    for row, (tier, allowed) in zip(rows, extensions.items(), strict=True):
        _, headers = await agent(client, sessions, clock, tier)
        first = await hold_leads(client, headers, [row["public_id"]])
        until = clock.now() + timedelta(minutes=minutes[tier])
        for n in range(allowed):
            res = await client.post(f"{CART}/holds/{row['public_id']}/extend", headers=headers)
            assert res.status_code == 200, res.text
            until += timedelta(minutes=minutes[tier])
            assert res.json()["held_until"] == until.isoformat().replace("+00:00", "Z")
            assert res.json()["price"] == first["items"][0]["price"]
            left = (await client.get(CART, headers=headers)).json()["items"][0]["extensions_left"]
            assert left == allowed - n - 1
        refused = await client.post(f"{CART}/holds/{row['public_id']}/extend", headers=headers)
        assert refused.status_code == 409
        assert refused.json()["detail"] == [{"field": "lead_id", "reason": "no_extensions_left"}]
        # Release: the lead is available again, and releasing twice is 404
        assert (
            await client.delete(f"{CART}/holds/{row['public_id']}", headers=headers)
        ).status_code == 204
        assert (
            await client.delete(f"{CART}/holds/{row['public_id']}", headers=headers)
        ).status_code == 404
    async with sessions() as session:
        statuses = (await session.scalars(select(Lead.status))).all()
    assert set(statuses) == {"available"}


async def test_an_admin_changes_a_tier_policy_at_run_time(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    [row] = await _leads(sessions, settings, cipher, clock, 1)
    admin_headers = await admin(client, sessions, clock)
    tiers = (await client.get("/api/v1/admin/tiers", headers=admin_headers)).json()
    basic = next(t for t in tiers if t["tier"] == "basic")
    assert basic["source"] == "settings" and basic["policy"]["hold_minutes"] == 15
    policy = {**basic["policy"], "hold_minutes": 5, "discount_percent": 10}
    res = await client.put("/api/v1/admin/tiers/basic", json=policy, headers=admin_headers)
    assert res.status_code == 200 and res.json()["source"] == "admin"
    _, headers = await agent(client, sessions, clock, Tier.BASIC)
    [item] = (await hold_leads(client, headers, [row["public_id"]]))["items"]
    assert item["held_until"] == (clock.now() + timedelta(minutes=5)).isoformat().replace(
        "+00:00", "Z"
    )
    assert item["price"]["cents"] == 1800
    bad = await client.put(
        "/api/v1/admin/tiers/basic", json={**policy, "discount_percent": 120}, headers=admin_headers
    )
    assert bad.status_code == 422
    assert (
        await client.put("/api/v1/admin/tiers/basic", json=policy, headers=headers)
    ).status_code == 403
    reset = await client.delete("/api/v1/admin/tiers/basic", headers=admin_headers)
    assert reset.json()["policy"]["hold_minutes"] == 15


async def test_holds_releases_and_extensions_land_in_the_event_log(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    [row] = await _leads(sessions, settings, cipher, clock, 1)
    account, headers = await agent(client, sessions, clock, Tier.PRO)
    await hold_leads(client, headers, [row["public_id"]])
    await client.post(f"{CART}/holds/{row['public_id']}/extend", headers=headers)
    await client.delete(f"{CART}/holds/{row['public_id']}", headers=headers)
    async with transaction(sessions) as session:
        lead_id = await session.scalar(select(Lead.id))
        assert lead_id is not None
        logged = await events.for_lead(session, lead_id)
    assert logged == [("hold", account.id), ("extend", account.id), ("release", account.id)]


async def test_bad_hold_requests_are_422_naming_the_field(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock, Tier.BASIC)
    for body, field in (
        ({"lead_ids": []}, "lead_ids"),
        ({"lead_ids": ["nope"]}, "lead_ids"),
        ({"lead_ids": [str(uuid.uuid4())], "extra": 1}, "extra"),
        ({}, "lead_ids"),
    ):
        res = await client.post(f"{CART}/holds", json=body, headers=headers)
        assert res.status_code == 422, res.text
        assert any(field in d["field"] for d in res.json()["detail"]), res.json()
    assert (await client.post(f"{CART}/holds", json={"lead_ids": []})).status_code == 401


async def test_a_hold_and_a_release_cost_a_fixed_few_statements(
    app: FastAPI,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given an available lead, an agent, and the app's statements counted (the tier policies
    # already read: they are cached)
    [row] = await _leads(sessions, settings, cipher, clock, 1)
    _, headers = await agent(client, sessions, clock)
    assert (await client.get(CART, headers=headers)).status_code == 200
    statements: list[str] = []
    elsewhere: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    def stray(*args: Any) -> None:
        elsewhere.append(args[2])

    # The cart's writes run on the engine that keeps generic plans (the same one on SQLite)
    engine = app.state.aiq.generic_engine.sync_engine
    main = app.state.aiq.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    if main is not engine:
        event.listen(main, "before_cursor_execute", stray)
    try:
        # When the agent holds the lead, then releases it
        await hold_leads(client, headers, [row["public_id"]])
        held = len(statements)
        res = await client.delete(f"{CART}/holds/{row['public_id']}", headers=headers)
        assert res.status_code == 204
        released = len(statements) - held
    finally:
        event.remove(engine, "before_cursor_execute", count)
        if main is not engine:
            event.remove(main, "before_cursor_execute", stray)
    assert elsewhere == []
    # Then each costs a fixed number of statements: the cart lock, the lead (and for a hold the
    # live count), its conditional UPDATE (with its history, the hold record and the event),
    # the data version; on PostgreSQL two: the lock with the reads, the UPDATE with the rest.
    # The account is not read: its facts are kept a few seconds per process
    # (auth/principal_cache.py)
    postgres = settings.database_url.startswith("postgresql")
    assert (held, released) == ((2, 2) if postgres else (8, 7)), statements


async def test_a_hold_on_a_lead_another_transaction_is_moving_is_refused_without_waiting(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's (SQLite has one writer at a time)")
    # Given an available lead whose row another transaction has locked, as one taking,
    # releasing or selling it does until it commits
    [row] = await _leads(sessions, settings, cipher, clock, 1)
    _, headers = await agent(client, sessions, clock)
    async with sessions() as mover:
        await mover.execute(
            select(Lead.id).where(Lead.public_id == row["public_id"]).with_for_update()
        )
        # When an agent tries to hold it meanwhile (the wait_for only keeps a regression from
        # hanging the suite: the hold would wait for this transaction, which waits for it)
        answer = await asyncio.wait_for(hold_leads(client, headers, [row["public_id"]]), 120)
        # Then it is refused at once, as taken by someone else
        assert _codes(answer) == ["held_by_other"]
        await mover.rollback()
    # And once that transaction has ended, the lead is held as usual
    assert _codes(await hold_leads(client, headers, [row["public_id"]])) == [None]


async def test_a_hold_that_waited_for_its_accounts_other_hold_counts_it_in_the_cart_limit(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's (SQLite has one writer at a time)")
    # Given an agent whose cart takes one lead, and two leads
    first, second = await _leads(sessions, settings, cipher, clock, 2)
    account, headers = await agent(client, sessions, clock)
    async with transaction(sessions) as session:
        await session.execute(
            update(Account).where(Account.id == account.id).values(custom_cart_limit=1)
        )
    principal = replace(Principal.of(account), custom_cart_limit=1)
    policy = settings.tiers[Tier.ENTERPRISE.value]
    # And a hold of the first lead by the same agent in a transaction not yet committed
    async with sessions() as other:
        taken = await cart_service.hold(
            other,
            viewer_for(principal, policy, clock.now()),
            policy=policy,
            custom_limit=1,
            lead_ids=[first["public_id"]],
            all_or_nothing=False,
            notices=InProcessNotices(),
        )
        assert taken.held == 1
        # When the agent asks for the second lead meanwhile, and that request is waiting for
        # the cart's lock (its statement began before the first hold commits)
        asking = asyncio.create_task(hold_leads(client, headers, [second["public_id"]]))
        async with sessions() as watcher:
            waiting = (
                select(func.count())
                .select_from(text("pg_stat_activity"))
                .where(text("datname = current_database() AND wait_event_type = 'Lock'"))
            )
            # A condition awaited, not a time (the bound: a regression must not hang the suite)
            # (PostgreSQL shows one snapshot of pg_stat_activity per transaction: end the
            # watcher's after each look, or it never sees the wait begin)
            for _ in range(12_000):
                if await watcher.scalar(waiting):
                    break
                await watcher.rollback()
                await asyncio.sleep(0.01)
            assert await watcher.scalar(waiting), "the second hold never waited for the lock"
        await other.commit()
        answer = await asyncio.wait_for(asking, 120)
    # Then the second is refused: the first, committed while it waited, fills the cart
    assert _codes(answer) == ["cart_limit_reached"]


async def test_a_lead_lost_to_another_agent_gives_its_place_to_the_next_asked(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's (SQLite has one writer at a time)")
    # Given three leads, an agent with one place left, and another transaction moving the
    # lead the agent will ask for first (as one taking it does until it commits)
    busy, earlier, later = await _leads(sessions, settings, cipher, clock, 3)
    headers = await _one_place_left(client, sessions, settings, cipher, clock)
    async with sessions() as mover:
        await mover.execute(
            select(Lead.id).where(Lead.public_id == busy["public_id"]).with_for_update()
        )
        # When the agent asks for the busy lead, then the later row, then the earlier
        asked = [busy["public_id"], later["public_id"], earlier["public_id"]]
        answer = await asyncio.wait_for(hold_leads(client, headers, asked), 120)
        await mover.rollback()
    # Then the busy lead is refused as taken, and its place goes to the next lead asked
    assert _codes(answer) == ["held_by_other", None, "cart_limit_reached"]
