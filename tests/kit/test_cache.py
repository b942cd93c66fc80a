"""The in-process byte cache: LRU order, TTL expiry, byte budget; Redis failures are misses."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from aiqleads.kit.cache import MemoryCache, RedisCache, build_cache


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_entries_expire_after_their_ttl() -> None:
    ticks = Ticks()
    cache = MemoryCache(clock=ticks)
    await cache.set("k", b"v", ttl_seconds=10)
    ticks.now = 9.9
    assert await cache.get("k") == b"v"
    ticks.now = 10.0
    assert await cache.get("k") is None
    assert len(cache) == 0


async def test_least_recently_used_entry_is_evicted_first() -> None:
    cache = MemoryCache(max_entries=2)
    await cache.set("a", b"1", ttl_seconds=60)
    await cache.set("b", b"2", ttl_seconds=60)
    assert await cache.get("a") == b"1"  # a is now the most recent
    await cache.set("c", b"3", ttl_seconds=60)
    assert [await cache.get(k) for k in "abc"] == [b"1", None, b"3"]


async def test_byte_budget_bounds_memory() -> None:
    cache = MemoryCache(max_entries=100, max_bytes=10)
    await cache.set("a", b"12345", ttl_seconds=60)
    await cache.set("b", b"12345", ttl_seconds=60)
    await cache.set("c", b"123", ttl_seconds=60)  # 13 bytes: the oldest goes
    assert await cache.get("a") is None
    await cache.set("huge", b"x" * 11, ttl_seconds=60)  # larger than the budget: not stored
    assert await cache.get("huge") is None
    assert await cache.get("b") == b"12345"


async def test_unreachable_redis_is_a_miss_not_an_error() -> None:
    client = Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), retries=0))
    cache = build_cache(client)
    assert isinstance(cache, RedisCache)
    await cache.set("k", b"v", ttl_seconds=1)
    assert await cache.get("k") is None
    await client.aclose()
