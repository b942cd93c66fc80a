"""What a production API shows besides itself: the docs and schema by a setting, /metrics
behind a token (or closed)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import Backend

from aiqleads.app import create_app
from aiqleads.config import Environment, Settings
from aiqleads.kit.clock import FrozenClock

DOCS = ("/docs", "/redoc", "/openapi.json")


@pytest.fixture
async def serve() -> AsyncIterator[list[object]]:
    contexts: list[object] = []
    yield contexts
    for ctx in reversed(contexts):
        await ctx.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def _client(
    settings: Settings, clock: FrozenClock, contexts: list[object]
) -> httpx.AsyncClient:
    app: FastAPI = create_app(settings, clock=clock)
    ctx = app.router.lifespan_context(app)
    await ctx.__aenter__()
    contexts.append(ctx)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def _codes(client: httpx.AsyncClient, paths: tuple[str, ...]) -> list[int]:
    return [(await client.get(p)).status_code for p in paths]


async def test_docs_are_off_in_production_unless_switched_on(
    engine: object, backend: Backend, clock: FrozenClock, serve: list[object]
) -> None:
    # Given the same API in development, in production, and in production with docs on
    dev = await _client(backend.settings(), clock, serve)
    prod = await _client(backend.settings(env=Environment.PRODUCTION), clock, serve)
    prod_docs = await _client(
        backend.settings(env=Environment.PRODUCTION, exposure={"docs": True}), clock, serve
    )
    dev_off = await _client(backend.settings(exposure={"docs": False}), clock, serve)
    # Then each answers the docs and schema as its setting says
    assert await _codes(dev, DOCS) == [200, 200, 200]
    assert await _codes(prod, DOCS) == [404, 404, 404]
    assert await _codes(prod_docs, DOCS) == [200, 200, 200]
    assert await _codes(dev_off, DOCS) == [404, 404, 404]
    # And the API itself answers everywhere
    assert await _codes(prod, ("/health",)) == [200]


async def test_metrics_need_the_token_when_one_is_set(
    engine: object, backend: Backend, clock: FrozenClock, serve: list[object]
) -> None:
    # Given a metrics token
    token = "scrape-token-0123456789abcdef"
    client = await _client(backend.settings(exposure={"metrics_token": token}), clock, serve)
    # When Prometheus scrapes without it, with a wrong one, and with it
    none = await client.get("/metrics")
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    right = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    # Then only the right token gets the metrics
    assert (none.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert "aiq_http_requests_total" in right.text
    assert none.json()["code"] == "unauthorized"


async def test_metrics_are_closed_in_production_without_a_token(
    engine: object, backend: Backend, clock: FrozenClock, serve: list[object]
) -> None:
    # Given production without a token, and production whose listener is declared private
    closed = await _client(backend.settings(env=Environment.PRODUCTION), clock, serve)
    private = await _client(
        backend.settings(env=Environment.PRODUCTION, exposure={"metrics_public": True}),
        clock,
        serve,
    )
    # Then the first hides /metrics and the second serves it
    assert await _codes(closed, ("/metrics",)) == [404]
    assert await _codes(private, ("/metrics",)) == [200]
