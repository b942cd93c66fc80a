"""Small helpers shared by the geo endpoint tests."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client import REGISTRY

from tests.factories import admin, agent

GEO = "/api/v1/geo"
__all__ = ["GEO", "admin", "agent", "counter", "geo", "hits", "misses"]


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
