"""Small helpers shared by the geo endpoint tests."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.kit.clock import FrozenClock
from aiqleads.models import Account
from aiqleads.models.enums import Role, Tier
from tests.factories import login, make_account

GEO = "/api/v1/geo"


async def agent(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    tier: Tier = Tier.ENTERPRISE,
) -> tuple[Account, dict[str, str]]:
    account = await make_account(sessions, now=clock.now(), tier=tier)
    return account, await login(client, account.email)


async def admin(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> dict[str, str]:
    account = await make_account(sessions, now=clock.now(), role=Role.ADMIN, tier=Tier.ENTERPRISE)
    return await login(client, account.email)


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
