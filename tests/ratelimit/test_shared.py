"""The rate limit is one count for the account however many worker processes answer it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.kit.clock import SystemClock
from aiqleads.models.enums import Tier
from tests.conftest import Backend
from tests.factories import PASSWORD, make_account
from tests.live import access_lines, fresh_get, serve

pytestmark = pytest.mark.slow
LIMIT = 5


async def test_two_workers_share_one_count_per_account(
    backend: Backend,
    engine: object,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    redis_url = backend.redis_url or os.environ.get("AIQ_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("needs Redis (AIQ_TEST_REDIS_URL): the shared storage of rate limits")
    # Given a basic agent, limited to 5 requests a minute, and a server of two workers
    # counting in Redis
    agent = await make_account(sessions, now=SystemClock().now(), tier=Tier.BASIC)
    env = {
        "AIQ_REDIS_URL": redis_url,
        "AIQ_CACHE_NAMESPACE": f"t{uuid.uuid4().hex[:10]}",
        "AIQ_RATE_LIMIT__ENABLED": "true",
        "AIQ_TIERS__BASIC__RATE_LIMIT_PER_MINUTE": str(LIMIT),
        "AIQ_LOG_JSON": "true",
        "AIQ_WORKER__START_IN_APP": "false",
    }
    with serve(backend, tmp_path, workers=2, **env) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            res = await client.post(
                "/api/v1/auth/token", data={"username": agent.email, "password": PASSWORD}
            )
        token = res.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        # When the agent calls 3 times its limit, each call on a new connection, and on until
        # both workers have answered it
        codes: list[int] = []
        pids: set[object] = set()
        while (len(pids) < 2 or len(codes) < 3 * LIMIT) and len(codes) < 200:
            codes.append(fresh_get(f"{base}/api/v1/auth/me", headers=auth).status_code)
            pids = {
                e["pid"] for e in access_lines(tmp_path, base) if e["route"] == "/api/v1/auth/me"
            }
    # Then both workers answered, and together they allowed exactly the limit, not a limit
    # each
    assert len(pids) == 2, "one worker answered every request; the test proves nothing"
    assert codes.count(200) == LIMIT
    assert set(codes[LIMIT:]) <= {429}
