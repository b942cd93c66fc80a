"""`RedisMovingWindow` counts as `limits`' moving window does, in one script: the same verdicts
hit by hit, on the same data (each reads and clears what the other counted), atomic under
concurrent hits. On the test Redis (skipped without one)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from aiqleads.ratelimit.moving_window import RedisMovingWindow

LIMIT = 5


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    url = os.environ.get("AIQ_TEST_REDIS_URL")
    if not url:
        pytest.skip("needs Redis (AIQ_TEST_REDIS_URL)")
    client = Redis.from_url(url)
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}:ratelimit"


def _library(redis: Redis, prefix: str) -> MovingWindowRateLimiter:
    storage = RedisStorage(
        "async+redis://",
        implementation="redispy",
        key_prefix=prefix,
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]
    )
    return MovingWindowRateLimiter(storage)


async def test_hit_by_hit_the_same_verdicts_as_limits(redis: Redis, prefix: str) -> None:
    item = RateLimitItemPerMinute(LIMIT)
    library = _library(redis, prefix)
    ours = RedisMovingWindow(redis, prefix)
    for i in range(LIMIT + 3):
        allowed = await library.hit(item, "account", "library")
        stats = await library.get_window_stats(item, "account", "library")
        count = await ours.hit(item, "account", "ours")
        assert count.allowed == allowed, i
        assert count.remaining == stats.remaining, i
        assert count.allowed is (i < LIMIT)
        assert 59 <= count.reset_seconds <= 60


async def test_each_reads_what_the_other_counted(redis: Redis, prefix: str) -> None:
    item = RateLimitItemPerMinute(LIMIT)
    library = _library(redis, prefix)
    ours = RedisMovingWindow(redis, prefix)
    for _ in range(3):
        await ours.hit(item, "account", "a")
    stats = await library.get_window_stats(item, "account", "a")
    assert stats.remaining == LIMIT - 3
    await library.hit(item, "account", "a")
    assert (await ours.hit(item, "account", "a")).remaining == 0
    assert not (await ours.hit(item, "account", "a")).allowed
    await library.clear(item, "account", "a")
    assert (await ours.hit(item, "account", "a")).remaining == LIMIT - 1


async def test_concurrent_hits_take_exactly_the_limit(redis: Redis, prefix: str) -> None:
    item = RateLimitItemPerMinute(LIMIT)
    ours = RedisMovingWindow(redis, prefix)
    counts = await asyncio.gather(*(ours.hit(item, "account", "race") for _ in range(4 * LIMIT)))
    assert sum(c.allowed for c in counts) == LIMIT
    assert sorted(c.remaining for c in counts if c.allowed) == list(range(LIMIT))


async def test_hits_older_than_the_window_age_out(redis: Redis, prefix: str) -> None:
    item = RateLimitItemPerMinute(LIMIT)
    ours = RedisMovingWindow(redis, prefix)
    key = f"{prefix}:{item.key_for('account', 'old')}"
    # Five hits two minutes ago: the window holds none of them.
    await redis.lpush(key, *[str(1_000_000.0 + i) for i in range(LIMIT)])
    count = await ours.hit(item, "account", "old")
    assert count.allowed
    assert count.remaining == LIMIT - 1


async def test_a_limit_of_zero_takes_nothing_as_limits_does(redis: Redis, prefix: str) -> None:
    item = RateLimitItemPerMinute(0)
    library = _library(redis, prefix)
    ours = RedisMovingWindow(redis, prefix)
    for _ in range(2):
        assert not await library.hit(item, "account", "zero")
        count = await ours.hit(item, "account", "zero")
        assert (count.allowed, count.remaining) == (False, 0)
