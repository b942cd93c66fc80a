"""Access logs: one JSON line per request with its route template, status, duration, request id
and account id, and no personal data anywhere in the logs after a whole journey."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import Backend
from tests.factories import PASSWORD, insert_leads, lead_row, login, make_account

from aiqleads.app import create_app
from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Account
from aiqleads.models.enums import Role, Tier
from aiqleads.observability.logging import RedactingFilter


@pytest.fixture
async def logged() -> AsyncIterator[tuple[io.StringIO, list[FastAPI]]]:
    """Where the application's log handler writes, for the test to read (JSON lines)."""
    buffer = io.StringIO()
    apps: list[FastAPI] = []
    yield buffer, apps
    for handler in logging.getLogger().handlers:
        if any(isinstance(f, RedactingFilter) for f in handler.filters):
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(__import__("sys").stderr)


async def _app(
    backend: Backend, clock: FrozenClock, buffer: io.StringIO, level: str = "INFO"
) -> FastAPI:
    settings = backend.settings(log_json=True, access_log=True, log_level=level)
    app = create_app(settings, clock=clock)
    [handler] = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactingFilter) for f in h.filters)
    ]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    return app


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


async def test_one_line_per_request_with_route_status_and_request_id(
    engine: object,
    backend: Backend,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    logged: tuple[io.StringIO, list[FastAPI]],
) -> None:
    buffer, _ = logged
    app = await _app(backend, clock, buffer)
    account = await make_account(sessions, now=clock.now(), tier=Tier.PRO)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            auth = await login(client, account.email)
            # When a lead is asked for with a request id of the caller's
            given = uuid.uuid4().hex
            lead = uuid.uuid4()
            res = await client.get(f"/api/v1/leads/{lead}", headers={**auth, "X-Request-ID": given})
    # Then the answer carries the request id, and one access line describes the request
    assert res.status_code == 404
    assert res.headers["X-Request-ID"] == given
    access = [e for e in _lines(buffer) if e["logger"] == "aiqleads.access"]
    assert [e["route"] for e in access] == ["/api/v1/auth/token", "/api/v1/leads/{lead_id}"]
    line = access[1]
    assert line["method"] == "GET" and line["status"] == 404
    assert line["request_id"] == given
    assert line["principal"] == str(account.public_id)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert str(lead) not in buffer.getvalue()
    # And a login, made without an account, names none
    assert access[0]["principal"] is None and access[0]["status"] == 200


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_no_personal_data_in_the_logs_after_a_full_journey(
    level: str,
    engine: object,
    backend: Backend,
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    sessions: async_sessionmaker[AsyncSession],
    logged: tuple[io.StringIO, list[FastAPI]],
) -> None:
    buffer, _ = logged
    app = await _app(backend, clock, buffer, level)
    owner = {
        "owner_name": "Quentin Zebulon",
        "owner_phone": "+12065550177",
        "owner_email": "quentin.zebulon@example.org",
    }
    rows = [lead_row(settings, cipher, now=clock.now(), **owner)] + [
        lead_row(settings, cipher, now=clock.now()) for _ in range(6)
    ]
    await insert_leads(sessions, rows, now=clock.now())
    target = str(rows[0]["public_id"])
    email, secrets_seen = "journey.agent@example.net", []
    admin = await make_account(sessions, now=clock.now(), role=Role.ADMIN, tier=Tier.ENTERPRISE)
    statuses: list[int] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:

            async def call(method: str, url: str, **kw: object) -> httpx.Response:
                res = await c.request(method, url, **kw)  # type: ignore[arg-type]
                statuses.append(res.status_code)
                return res

            # An agent signs up, fails a login, logs in, refreshes; an admin makes them
            # enterprise
            reg = await call(
                "POST", "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
            )
            account_id = reg.json()["id"]
            await call(
                "POST", "/api/v1/auth/token", data={"username": email, "password": "not it, sorry"}
            )
            tokens = (
                await call(
                    "POST", "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
                )
            ).json()
            admin_auth = await login(c, admin.email)
            await call(
                "PATCH",
                f"/api/v1/admin/accounts/{account_id}",
                json={"tier": "enterprise"},
                headers=admin_auth,
            )
            tokens = (
                await call(
                    "POST", "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
                )
            ).json()
            secrets_seen += [tokens["access_token"], tokens["refresh_token"]]
            auth = {"Authorization": f"Bearer {tokens['access_token']}"}
            key = (
                await call("POST", "/api/v1/auth/api-keys", json={"name": "crm"}, headers=auth)
            ).json()
            secrets_seen.append(key["key"])
            # They search, look at a map, preview a lead, hold it, pay, and see what they bought
            await call(
                "GET",
                "/api/v1/leads",
                params={"city": "seattle", "zip": "98101", "price_min": 123457},
                headers=auth,
            )
            await call(
                "GET",
                "/api/v1/geo/heatmap",
                params={"metro": "seattle", "resolution": 7},
                headers=auth,
            )
            await call("GET", f"/api/v1/leads/{target}", headers={"X-API-Key": key["key"]})
            await call("POST", "/api/v1/cart/holds", json={"lead_ids": [target]}, headers=auth)
            await call("GET", "/api/v1/cart", headers=auth)
            idem = f"idem-{uuid.uuid4().hex}"
            secrets_seen.append(idem)
            paid = await call(
                "POST",
                "/api/v1/checkout",
                json={"payment_token": "tok_success"},
                headers={**auth, "Idempotency-Key": idem},
            )
            bought = (await call("GET", f"/api/v1/leads/{target}", headers=auth)).json()
            await call("GET", "/api/v1/orders", headers=auth)
    async with sessions() as session:
        hashes = list(
            (await session.scalars(select(Account.password_hash).order_by(Account.id))).all()
        )
    assert len(hashes) == 2
    # The journey went through (the purchase unlocked the owner's contact)
    assert paid.status_code == 200, paid.text
    assert "Quentin Zebulon" in json.dumps(bought)
    assert all(s < 500 for s in statuses), statuses
    text = buffer.getvalue()
    access = [e for e in _lines(buffer) if e["logger"] == "aiqleads.access"]
    assert len(access) == len(statuses) + 1  # and the admin's login
    # Then no log line carries an e-mail, a password, a token or key, an owner's contact, a
    # lead's id, a query string or an idempotency key
    leaks = [
        email,
        admin.email,
        PASSWORD,
        "not it, sorry",
        *secrets_seen,
        "Quentin",
        "Zebulon",
        "5550177",
        "555-0177",
        "quentin.zebulon",
        target,
        "123457",
        "price_min",
        # Password hashes (the agent's and the admin's), in whole or as their salt
        *hashes,
        *(h.rsplit("$", 2)[1] for h in hashes),
    ]
    for leak in leaks:
        assert leak not in text, f"{leak!r} reached the logs"
    # No query string either (at DEBUG, SQL statements may hold "?" placeholders)
    assert not [e for e in access if "?" in json.dumps(e)]
    assert logging.getLogger().level == getattr(logging, level)  # the level was in force
    assert {e["route"] for e in access} >= {
        "/api/v1/leads/{lead_id}",
        "/api/v1/leads",
        "/api/v1/checkout",
        "/api/v1/cart/holds",
    }
