"""`RedisMovingWindow` counts as `limits`' moving window does, in one script: the same verdicts
hit by hit, on the same data (each reads and clears what the other counted), atomic under
concurrent hits. On the test Redis (skipped without one)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis
from redis.exceptions import RedisError

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


async def test_hits_asked_in_one_loop_turn_go_in_one_round_trip_in_order(
    redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given hits asked together (one wave of requests), on two keys, and the pipelines sent
    item = RateLimitItemPerMinute(LIMIT)
    ours = RedisMovingWindow(redis, prefix)
    pipelines: list[Any] = []
    opened = redis.pipeline

    def counted(*args: Any, **kwargs: Any) -> Any:
        pipelines.append(opened(*args, **kwargs))
        return pipelines[-1]

    monkeypatch.setattr(redis, "pipeline", counted)
    names = ["a", "b"] * (LIMIT + 2)
    counts = await asyncio.gather(*(ours.hit(item, "account", n) for n in names))
    # Then one pipeline carried them, and each key's verdicts are those of one hit at a time
    assert len(pipelines) == 1
    for name in ("a", "b"):
        mine = [c for n, c in zip(names, counts, strict=True) if n == name]
        assert [c.allowed for c in mine] == [True] * LIMIT + [False] * 2
        assert [c.remaining for c in mine] == [LIMIT - 1 - i for i in range(LIMIT)] + [0, 0]
    # And a hit asked alone, later, goes on its own
    assert (await ours.hit(item, "account", "c")).remaining == LIMIT - 1
    assert len(pipelines) == 1


async def test_a_wave_after_redis_forgot_the_script_loads_it_again(
    redis: Redis, prefix: str
) -> None:
    item = RateLimitItemPerMinute(LIMIT)
    ours = RedisMovingWindow(redis, prefix)
    await ours.hit(item, "account", "loaded")
    await redis.script_flush()  # as after a restart of Redis
    counts = await asyncio.gather(*(ours.hit(item, "account", "again") for _ in range(3)))
    assert [c.remaining for c in counts] == [LIMIT - 1, LIMIT - 2, LIMIT - 3]


async def test_every_hit_of_a_wave_fails_when_redis_cannot_be_reached(
    unused_tcp_port: int, prefix: str
) -> None:
    gone = Redis(host="127.0.0.1", port=unused_tcp_port, socket_connect_timeout=1)
    ours = RedisMovingWindow(gone, prefix)
    item = RateLimitItemPerMinute(LIMIT)
    try:
        outcomes = await asyncio.gather(
            *(ours.hit(item, "account", str(i)) for i in range(3)), return_exceptions=True
        )
    finally:
        await gone.aclose()
    assert all(isinstance(o, (RedisError, OSError)) for o in outcomes), outcomes


async def test_a_hit_whose_request_is_cancelled_leaves_the_wave_answered(
    redis: Redis, prefix: str
) -> None:
    item = RateLimitItemPerMinute(LIMIT)
    ours = RedisMovingWindow(redis, prefix)
    gone = asyncio.ensure_future(ours.hit(item, "account", "w"))
    kept = asyncio.ensure_future(ours.hit(item, "account", "w"))
    await asyncio.sleep(0)  # both asked, in one turn
    gone.cancel()
    count = await kept
    assert count.allowed
    with pytest.raises(asyncio.CancelledError):
        await gone


def test_a_hit_left_queued_on_a_stopped_loop_does_not_hold_up_the_next_loop(prefix: str) -> None:
    url = os.environ.get("AIQ_TEST_REDIS_URL")
    if not url:
        pytest.skip("needs Redis (AIQ_TEST_REDIS_URL)")
    client = Redis.from_url(url)
    ours = RedisMovingWindow(client, prefix)
    item = RateLimitItemPerMinute(LIMIT)
    # Given a loop that stops after a hit was asked and before it was sent
    first = asyncio.new_event_loop()
    asked = ours.hit(item, "account", "x")
    first.call_soon(asked.send, None)  # the hit's first step: queued, its send scheduled
    first.call_soon(first.stop)  # and the loop stops before that send runs
    first.run_forever()
    asked.close()
    first.close()

    # When another loop hits, it is answered
    async def later() -> int:
        try:
            return (await asyncio.wait_for(ours.hit(item, "account", "y"), 5)).remaining
        finally:
            await client.aclose()

    assert asyncio.run(later()) == LIMIT - 1
