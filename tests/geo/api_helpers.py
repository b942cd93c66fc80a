"""Small helpers shared by the geo endpoint tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from prometheus_client import REGISTRY

from aiqleads.app import create_app
from aiqleads.config import Settings
from aiqleads.kit.clock import Clock
from tests.factories import admin, agent

GEO = "/api/v1/geo"
__all__ = ["GEO", "admin", "agent", "client_with", "counter", "geo", "hits", "misses"]


@asynccontextmanager
async def client_with(
    settings: Settings, clock: Clock, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose settings differ from the test's by `overrides`."""
    app = create_app(settings.model_copy(update=overrides), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def geo(
    client: httpx.AsyncClient, endpoint: str, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    res = await client.get(f"{GEO}/{endpoint}", params=params, headers=headers)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("application/geo+json")
    body: dict[str, Any] = res.json()
    assert body["type"] == "FeatureCollection"
    return body


def counter(name: str, endpoint: str) -> float:
    return REGISTRY.get_sample_value(name, {"endpoint": endpoint}) or 0.0


def hits(endpoint: str) -> float:
    return counter("aiq_geo_cache_hits_total", endpoint)


def misses(endpoint: str) -> float:
    return counter("aiq_geo_cache_misses_total", endpoint)
