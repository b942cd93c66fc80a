"""Webhook deliveries to a real HTTP server on 127.0.0.1: recorded in the caller's transaction
and sent after it commits, signed (HMAC-SHA256 over `timestamp.body`), retried with backoff and
jitter when the receiver fails, given up after the last attempt and shown to the account."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.cart.tasks import sweep_holds
from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Account, TaskOutbox, WebhookDelivery
from aiqleads.models.enums import Tier
from aiqleads.observability.metrics import WEBHOOK_DELIVERIES
from aiqleads.webhooks import service
from aiqleads.webhooks.signing import HEADER, InvalidSignature, verify
from aiqleads.worker.context import TaskContext
from aiqleads.worker.dispatcher import Dispatcher
from tests.factories import agent, insert_leads, lead_row
from tests.webhooks.receiver import receiver

HOOKS = "/api/v1/webhooks"


async def _webhook(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, *events: str
) -> dict[str, Any]:
    res = await client.post(
        HOOKS,
        json={"url": url, "event_types": list(events) or ["purchase.confirmed"]},
        headers=headers,
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


async def _emit(
    sessions: async_sessionmaker[AsyncSession], account: Account, now: datetime, **data: Any
) -> int:
    async with transaction(sessions) as session:
        return await service.emit(
            session, account.id, "purchase.confirmed", {"order_id": "ord_1", **data}, now=now
        )


async def _deliveries(
    client: httpx.AsyncClient, headers: dict[str, str], hook: dict[str, Any]
) -> list[dict[str, Any]]:
    res = await client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=headers)
    assert res.status_code == 200, res.text
    items: list[dict[str, Any]] = res.json()["items"]
    return items


def _with_webhooks(ctx: TaskContext, **policy: Any) -> TaskContext:
    webhooks = ctx.settings.webhooks.model_copy(update=policy)
    return replace(ctx, settings=ctx.settings.model_copy(update={"webhooks": webhooks}))


async def test_a_delivery_goes_out_after_commit_signed_with_the_secret(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    task_ctx: TaskContext,
) -> None:
    account, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    with receiver(200) as crm:
        hook = await _webhook(client, headers, crm.url, "purchase.confirmed")
        # Given an event emitted in a transaction that rolls back: nothing is recorded or sent
        with pytest.raises(RuntimeError):
            async with transaction(sessions) as session:
                await service.emit(
                    session, account.id, "purchase.confirmed", {"x": 1}, now=clock.now()
                )
                raise RuntimeError("checkout failed")
        runner = Dispatcher(task_ctx, mode="run", schedule=False)
        assert await runner.drain() == 0
        # When one is emitted in a transaction that commits and the worker runs
        assert await _emit(sessions, account, clock.now(), amount_cents=1500) == 1
        await runner.drain()
        # Then the receiver got it once, signed with the webhook's secret over the exact body
        [got] = crm.requests
    assert got.path == "/hooks/aiq"
    stamp = verify(got.body, got.headers[HEADER], hook["secret"], now=clock.now())
    assert stamp == int(clock.now().timestamp())
    with pytest.raises(InvalidSignature):
        verify(got.body + b" ", got.headers[HEADER], hook["secret"], now=clock.now())
    with pytest.raises(InvalidSignature):
        verify(got.body, got.headers[HEADER], "whsec_other", now=clock.now())
    event = json.loads(got.body)
    assert event["type"] == "purchase.confirmed"
    assert event["id"].startswith("evt_") and got.headers["AIQ-Event-Id"] == event["id"]
    assert event["created"] == int(clock.now().timestamp())
    assert event["data"] == {"order_id": "ord_1", "amount_cents": 1500}
    assert got.headers["AIQ-Event-Type"] == "purchase.confirmed"
    assert got.headers["AIQ-Delivery-Attempt"] == "1"
    assert got.headers["Content-Type"] == "application/json"
    # And the account sees it delivered
    [delivery] = await _deliveries(client, headers, hook)
    assert delivery["id"] == got.headers["AIQ-Delivery-Id"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == (
        "delivered",
        1,
        200,
    )
    assert delivery["delivered_at"] is not None and delivery["next_attempt_at"] is None


async def test_a_failing_receiver_is_retried_with_growing_waits_then_given_up(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    task_ctx: TaskContext,
) -> None:
    # Given at most 4 attempts, the first retry after 15-30 s
    ctx = _with_webhooks(task_ctx, max_attempts=4, backoff_base_seconds=30.0)
    runner = Dispatcher(ctx, mode="run", schedule=False)
    account, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    failed_before = WEBHOOK_DELIVERIES.labels(
        event_type="purchase.confirmed", outcome="failed"
    )._value.get()
    with receiver(500) as crm:
        hook = await _webhook(client, headers, crm.url)
        await _emit(sessions, account, clock.now())
        waits: list[timedelta] = []
        for attempt in range(1, 5):
            # When the attempt is due, the worker sends it and the receiver fails
            await runner.drain()
            assert len(crm.requests) == attempt
            assert crm.requests[-1].headers["AIQ-Delivery-Attempt"] == str(attempt)
            [delivery] = await _deliveries(client, headers, hook)
            assert (delivery["attempts"], delivery["last_status"]) == (attempt, 500)
            assert delivery["last_error"] == "HTTP 500"
            if attempt == 4:
                break
            # Then it waits, between half and all of 30 s · 2^(attempt-1), before the next
            assert delivery["status"] == "pending"
            wait = datetime.fromisoformat(delivery["next_attempt_at"]) - clock.now()
            ceiling = timedelta(seconds=30 * 2 ** (attempt - 1))
            assert ceiling / 2 <= wait <= ceiling
            waits.append(wait)
            clock.advance(wait - timedelta(seconds=1))
            await runner.drain()
            assert len(crm.requests) == attempt  # not before its time
            clock.advance(timedelta(seconds=1))
        # And after the last attempt it is given up, for the account to see
        assert waits == sorted(waits)
        assert (delivery["status"], delivery["next_attempt_at"]) == ("failed", None)
        clock.advance(timedelta(days=3))
        await runner.drain()
        assert len(crm.requests) == 4
    assert (
        WEBHOOK_DELIVERIES.labels(event_type="purchase.confirmed", outcome="failed")._value.get()
        == failed_before + 1
    )


async def test_a_receiver_that_recovers_gets_the_delivery(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    task_ctx: TaskContext,
) -> None:
    runner = Dispatcher(task_ctx, mode="run", schedule=False)
    account, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    with receiver(503, 200) as crm:
        hook = await _webhook(client, headers, crm.url)
        await _emit(sessions, account, clock.now())
        await runner.drain()
        clock.advance(timedelta(minutes=1))
        await runner.drain()
        assert [r.headers["AIQ-Delivery-Attempt"] for r in crm.requests] == ["1", "2"]
        assert crm.requests[0].body == crm.requests[1].body  # the same event, resent
    [delivery] = await _deliveries(client, headers, hook)
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == (
        "delivered",
        2,
        200,
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_receiver_that_cannot_be_reached_counts_as_a_failed_attempt(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    task_ctx: TaskContext,
) -> None:
    account, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    hook = await _webhook(client, headers, f"http://127.0.0.1:{_closed_port()}/h")
    await _emit(sessions, account, clock.now())
    await Dispatcher(task_ctx, mode="run", schedule=False).drain()
    [delivery] = await _deliveries(client, headers, hook)
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == (
        "pending",
        1,
        None,
    )
    assert delivery["last_error"].startswith("ConnectError")


async def test_emit_records_nothing_for_events_the_account_did_not_ask_for(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    account, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    await _webhook(client, headers, "https://crm.example.com/h", "hold.expired")
    assert await _emit(sessions, account, clock.now()) == 0
    async with transaction(sessions) as session:
        assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
        assert await session.scalar(select(func.count()).select_from(TaskOutbox)) == 0
        with pytest.raises(ValueError, match=r"lead\.stolen"):
            await service.emit(session, account.id, "lead.stolen", {}, now=clock.now())


async def test_the_sweeper_sends_hold_expiring_and_hold_expired(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    task_ctx: TaskContext,
) -> None:
    # Given an enterprise agent (24 h holds) with a webhook for both hold events, holding a lead
    row = lead_row(settings, cipher, now=clock.now())
    await insert_leads(sessions, [row], now=clock.now())
    _, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    runner = Dispatcher(task_ctx, mode="run", schedule=False)
    with receiver(200) as crm:
        await _webhook(client, headers, crm.url, "hold.expiring", "hold.expired")
        res = await client.post(
            "/api/v1/cart/holds", json={"lead_ids": [str(row["public_id"])]}, headers=headers
        )
        assert res.json()["held"] == 1
        # When the sweeper runs 3 minutes before the end, and again after it
        clock.advance(timedelta(hours=23, minutes=57))
        await sweep_holds(task_ctx)
        await runner.drain()
        clock.advance(timedelta(minutes=3))
        await sweep_holds(task_ctx)
        await runner.drain()
        # Then the receiver got hold.expiring, then hold.expired, for the lead
        events = [json.loads(r.body) for r in crm.requests]
    assert [e["type"] for e in events] == ["hold.expiring", "hold.expired"]
    assert events[0]["data"]["lead_id"] == str(row["public_id"])
    assert events[0]["data"]["minutes_left"] == 3.0
    assert events[1]["data"] == {
        "lead_id": str(row["public_id"]),
        "reason": "expired",
        "ended_at": clock.now().isoformat(),
    }
