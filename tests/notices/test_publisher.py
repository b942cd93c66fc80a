"""The notices publisher: fan-out to every subscription of a channel, in-process and across
Redis connections (as between two API workers)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from aiqleads.notices import MARKET, InProcessNotices, Notices, RedisNotices, account_channel

REDIS_URL = os.environ.get("AIQ_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs AIQ_TEST_REDIS_URL")


async def _next(feed: object) -> tuple[str, dict[str, object]]:
    return await asyncio.wait_for(anext(feed), 10)  # type: ignore[call-overload]


async def test_in_process_fan_out_reaches_every_subscription_of_the_channel() -> None:
    # Given two subscriptions to the market and one to an account
    notices = InProcessNotices()
    async with (
        notices.subscribe([MARKET]) as first,
        notices.subscribe([MARKET, account_channel(7)]) as second,
        notices.subscribe([account_channel(8)]) as other,
    ):
        # When a market notice and an account notice are published
        reached = await notices.publish(MARKET, {"type": "leads_available", "lead_ids": ["a"]})
        await notices.publish(account_channel(7), {"type": "hold_expired", "lead_id": "b"})
        # Then both market subscriptions get the first, only the account's gets the second
        assert reached == 2
        assert await _next(first) == (MARKET, {"type": "leads_available", "lead_ids": ["a"]})
        assert (await _next(second))[0] == MARKET
        assert await _next(second) == ("account:7", {"type": "hold_expired", "lead_id": "b"})
        assert other._queue.empty()  # type: ignore[attr-defined]
    # And a closed subscription receives nothing more
    assert await notices.publish(MARKET, {"type": "x"}) == 0


async def test_a_slow_subscription_keeps_only_the_latest_messages() -> None:
    # Given a subscription that may fall 3 messages behind
    notices = InProcessNotices(max_pending=3)
    async with notices.subscribe(["c"]) as feed:
        # When 5 are published before it reads
        for n in range(5):
            await notices.publish("c", {"n": n})
        # Then it reads the last 3
        assert [(await _next(feed))[1]["n"] for _ in range(3)] == [2, 3, 4]


async def test_a_message_that_is_not_json_is_refused() -> None:
    notices = InProcessNotices()
    with pytest.raises(TypeError, match="JSON"):
        await notices.publish("c", {"at": object()})


@pytest.fixture
async def two_connections() -> AsyncIterator[tuple[Notices, Notices]]:
    assert REDIS_URL
    a, b = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    yield RedisNotices(a, namespace=namespace), RedisNotices(b, namespace=namespace)
    await a.aclose()
    await b.aclose()


@needs_redis
async def test_redis_carries_notices_between_connections(
    two_connections: tuple[Notices, Notices],
) -> None:
    # Given a subscriber on one Redis connection (one API worker) and a publisher on another
    subscriber, publisher = two_connections
    async with (
        subscriber.subscribe([account_channel(1), MARKET]) as feed,
        subscriber.subscribe([MARKET]) as second,
    ):
        # When the other connection publishes on both channels
        assert await publisher.publish(account_channel(1), {"type": "hold_expiring"}) == 1
        assert await publisher.publish(MARKET, {"type": "leads_available"}) == 2
        # Then each subscription gets what was sent on its channels, in order
        assert await _next(feed) == ("account:1", {"type": "hold_expiring"})
        assert await _next(feed) == (MARKET, {"type": "leads_available"})
        assert await _next(second) == (MARKET, {"type": "leads_available"})
    # And once closed, nobody listens
    assert await publisher.publish(MARKET, {"type": "x"}) == 0
