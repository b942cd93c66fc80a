"""The live-updates socket (/api/v1/live) against a real `aiqleads serve`: it wants a valid
access token first, closes when the session expires or another account's token is sent, and
forwards market notices naming only leads the agent may see now (the priority window holds new
leads back from a basic agent) and new leads only when they match the agent's saved search. On
PostgreSQL the notices travel through Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aiqleads.auth.tokens import TokenType, make_token
from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock, SystemClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import writes
from aiqleads.models import Account
from aiqleads.models.enums import Tier
from tests.conftest import TEST_SECRET, Backend
from tests.factories import PASSWORD, insert_leads, lead_row, make_account
from tests.live import serve
from tests.web.conftest import LIVE_ENV

WAIT = 20.0  # seconds for a message that must come (a failure, never a timing assertion)


@pytest.fixture
def server(backend: Backend, engine: object, tmp_path: Path) -> Iterator[str]:
    # workers named: then the mapping can only fill the environment (**env: str)
    with serve(backend, tmp_path, workers=1, **LIVE_ENV) as base:
        yield base


async def _token(base: str, email: str) -> str:
    async with httpx.AsyncClient() as http:
        res = await http.post(
            f"{base}/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        )
    assert res.status_code == 200, res.text
    return str(res.json()["access_token"])


@asynccontextmanager
async def _socket(base: str, token: str | None = None) -> AsyncIterator[ClientConnection]:
    """A socket to the live endpoint, authenticated with `token` when given (its `ready` read)."""
    async with connect(base.replace("http://", "ws://") + "/api/v1/live") as ws:
        if token is not None:
            await ws.send(json.dumps({"type": "auth", "access_token": token}))
            ready = await _next(ws)
            assert ready["type"] == "ready", ready
        yield ws


async def _next(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    return message


async def _closed(ws: ClientConnection) -> tuple[int, str]:
    """The close code and reason the server ends the socket with (messages before it skipped)."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code, closed.rcvd.reason


async def _until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message = await _next(ws)
        if message["type"] == kind:
            return message


async def _agent(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, tier: Tier
) -> Account:
    return await make_account(sessions, now=clock.now(), tier=tier)


async def test_the_socket_wants_a_valid_token_first(
    server: str, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an agent
    agent = await _agent(sessions, clock, Tier.PRO)
    # When a socket sends anything but an auth message first, it is closed with 4401
    async with _socket(server) as ws:
        await ws.send(json.dumps({"type": "watch", "filters": {}}))
        assert await _closed(ws) == (4401, "authenticate first")
    # And a forged token is refused with the reason
    async with _socket(server) as ws:
        await ws.send(json.dumps({"type": "auth", "access_token": "forged"}))
        code, reason = await _closed(ws)
        assert code == 4401 and "malformed" in reason
    # When the token is valid, the server says who is connected and until when
    async with _socket(server) as ws:
        await ws.send(
            json.dumps({"type": "auth", "access_token": await _token(server, agent.email)})
        )
        ready = await _next(ws)
        assert ready["type"] == "ready" and ready["account"] == str(agent.public_id)
        # And a renewal with another account's token ends the socket
        other = await _agent(sessions, clock, Tier.PRO)
        await ws.send(
            json.dumps({"type": "auth", "access_token": await _token(server, other.email)})
        )
        assert await _closed(ws) == (4403, "a token of another account")


async def test_the_socket_closes_when_the_session_expires_unrenewed(
    server: str, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a socket authenticated with a token that expires in two seconds
    agent = await _agent(sessions, clock, Tier.PRO)
    token, _ = make_token(
        TEST_SECRET,
        subject=str(agent.public_id),
        token_type=TokenType.ACCESS,
        now=SystemClock().now(),
        ttl=timedelta(seconds=2),
    )
    async with _socket(server, token) as ws:
        # When no fresh token comes, the server closes it as expired
        assert await _closed(ws) == (4401, "session expired")


async def test_market_notices_name_only_leads_the_agent_may_see(
    server: str,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a lead published long ago and one published a minute ago (inside a basic agent's
    # 30-minute window), an enterprise and a basic agent listening, and a third agent
    now = SystemClock().now()
    old = lead_row(
        settings, cipher, now=now - timedelta(days=2), published_at=now - timedelta(days=1)
    )
    new = lead_row(settings, cipher, now=now, published_at=now - timedelta(minutes=1))
    await insert_leads(sessions, [old, new], now=now - timedelta(minutes=1))
    enterprise = await _agent(sessions, clock, Tier.ENTERPRISE)
    basic = await _agent(sessions, clock, Tier.BASIC)
    holder = await _agent(sessions, clock, Tier.ENTERPRISE)
    ids = [str(old["public_id"]), str(new["public_id"])]
    async with (
        _socket(server, await _token(server, enterprise.email)) as ent_ws,
        _socket(server, await _token(server, basic.email)) as basic_ws,
    ):
        # When the third agent holds both
        auth = {"Authorization": f"Bearer {await _token(server, holder.email)}"}
        async with httpx.AsyncClient(base_url=server, headers=auth) as http:
            res = await http.post("/api/v1/cart/holds", json={"lead_ids": ids})
        assert res.json()["held"] == 2, res.text
        # Then the enterprise agent is told of both, the basic agent only of the one it may see
        held = await _until(ent_ws, "leads_held")
        assert sorted(held["lead_ids"]) == sorted(ids)
        held = await _until(basic_ws, "leads_held")
        assert held["lead_ids"] == [ids[0]]
        # When the holder releases the old one, both are told it is back
        async with httpx.AsyncClient(base_url=server, headers=auth) as http:
            res = await http.delete(f"/api/v1/cart/holds/{ids[0]}")
        assert res.status_code == 204
        assert (await _until(basic_ws, "leads_available"))["lead_ids"] == [ids[0]]
        assert (await _until(ent_ws, "leads_available"))["lead_ids"] == [ids[0]]


async def test_new_leads_are_announced_when_they_match_the_saved_search(
    server: str,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given an enterprise agent and a basic one, both watching 98103 in Seattle
    enterprise = await _agent(sessions, clock, Tier.ENTERPRISE)
    basic = await _agent(sessions, clock, Tier.BASIC)
    search = {"metro": "seattle", "zip": ["98103"], "price_max": 2_000_000}
    async with (
        _socket(server, await _token(server, enterprise.email)) as ent_ws,
        _socket(server, await _token(server, basic.email)) as basic_ws,
    ):
        # A bad filter is answered with the field and the reason; the socket stays open
        await ent_ws.send(json.dumps({"type": "watch", "filters": {"zip": ["981"]}}))
        error = await _until(ent_ws, "error")
        assert error["field"] == "zip" and "5-digit" in error["reason"]
        for ws in (ent_ws, basic_ws):
            await ws.send(json.dumps({"type": "watch", "filters": search}))
            assert (await _until(ws, "watching"))["filters"] == search
        # When a source brings two new leads, one in 98103 and one in 98101
        now = SystemClock().now()
        match = lead_row(settings, cipher, now=now, zip_code="98103", published_at=now)
        other = lead_row(settings, cipher, now=now, zip_code="98101", published_at=now)
        async with transaction(sessions) as session:
            ids = await writes.upsert(session, [match, other], now=now, cause="test")
        # Then the enterprise agent hears of the match only
        told = await _until(ent_ws, "new_leads")
        assert len(told["lead_ids"]) == 1
        # And the basic agent, inside its priority window, hears of nothing yet
        await basic_ws.send(json.dumps({"type": "ping"}))
        assert (await _next(basic_ws))["type"] == "pong"
    assert len(ids) == 2
