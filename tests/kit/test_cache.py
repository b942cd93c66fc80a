"""The byte caches: the in-process LRU (order, TTL expiry, byte budget), Redis (failures are
misses) and the near copies each process keeps of Redis's entries."""

from __future__ import annotations

import os
import uuid

import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from aiqleads.config import Settings
from aiqleads.kit.cache import MemoryCache, NearCache, RedisCache, build_cache

REDIS_URL = os.environ.get("AIQ_TEST_REDIS_URL")


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


def near_hits() -> float:
    return REGISTRY.get_sample_value("aiq_near_cache_hits_total") or 0.0


async def test_a_far_hit_is_kept_near_for_near_seconds_at_most() -> None:
    ticks = Ticks()
    far = MemoryCache(clock=ticks)
    cache = NearCache(far, MemoryCache(clock=ticks), near_seconds=30)
    await far.set("k", b"v", ttl_seconds=10)
    assert await cache.get("k") == b"v"  # from far, now copied near
    before = near_hits()
    ticks.now = 20  # far's entry has expired; the near copy still names the same bytes
    assert await far.get("k") is None
    assert await cache.get("k") == b"v"
    assert near_hits() == before + 1
    ticks.now = 30  # the copy's 30 s are over, counted from when it was made
    assert await cache.get("k") is None


async def test_a_set_writes_both_and_the_near_copy_never_outlives_the_entry() -> None:
    ticks = Ticks()
    far = MemoryCache(clock=ticks)
    cache = NearCache(far, MemoryCache(clock=ticks), near_seconds=30)
    await cache.set("short", b"1", ttl_seconds=5)
    await cache.set("long", b"2", ttl_seconds=300)
    assert await far.get("short") == b"1" and await far.get("long") == b"2"
    ticks.now = 5
    assert await cache.get("short") is None
    assert await cache.get("long") == b"2"
    ticks.now = 100  # past the near copy's 30 s: read from far again, and copied again
    assert await cache.get("long") == b"2"


async def test_near_copies_are_bounded_by_bytes() -> None:
    far = MemoryCache()
    near = MemoryCache(max_bytes=10)
    cache = NearCache(far, near, near_seconds=30)
    for key in "abc":
        await cache.set(key, b"12345", ttl_seconds=60)
    assert len(near) == 2  # 15 bytes asked, 10 allowed: the oldest copy went
    assert await cache.get("a") == b"12345"  # still in far


async def test_near_copies_answer_while_redis_is_unreachable() -> None:
    client = Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), retries=0))
    cache = build_cache(client, near_max_bytes=1024, near_seconds=30)
    assert isinstance(cache, NearCache)
    await cache.set("k", b"v", ttl_seconds=60)
    assert await cache.get("k") == b"v"
    assert await cache.get("other") is None
    await client.aclose()


def test_the_near_cache_is_only_in_front_of_redis_and_can_be_turned_off() -> None:
    client = Redis(host="127.0.0.1", port=1)
    assert isinstance(build_cache(None, near_max_bytes=1024), MemoryCache)
    assert isinstance(build_cache(client, near_max_bytes=0), RedisCache)
    assert isinstance(build_cache(client, near_max_bytes=1024, near_seconds=0), RedisCache)
    assert isinstance(build_cache(client, near_max_bytes=1024), NearCache)


@pytest.mark.skipif(not REDIS_URL, reason="needs AIQ_TEST_REDIS_URL")
async def test_a_near_hit_makes_no_redis_round_trip() -> None:
    assert REDIS_URL is not None
    client = Redis.from_url(REDIS_URL)
    key = f"aiq-test-near-{uuid.uuid4().hex}"
    try:
        cache = build_cache(client, near_max_bytes=1024, near_seconds=30)
        await client.set(key, b"from redis", px=60_000)
        assert await cache.get(key) == b"from redis"
        # Redis no longer has it: only the near copy can answer.
        await client.delete(key)
        assert await cache.get(key) == b"from redis"
        # A process with no copy of its own goes to Redis, and misses.
        assert await build_cache(client, near_max_bytes=1024).get(key) is None
    finally:
        await client.delete(key)
        await client.aclose()


async def test_the_app_keeps_near_copies_of_its_redis_entries(
    app: FastAPI, settings: Settings
) -> None:
    # Given the app as configured for this backend (Redis beside PostgreSQL)
    state = app.state.aiq
    if settings.redis_url is None:
        assert isinstance(state.cache, MemoryCache)
        return
    assert isinstance(state.cache, NearCache)
    # When an entry it stored is gone from Redis
    key = f"{settings.cache_namespace}:near-copy"
    await state.cache.set(key, b"answer", ttl_seconds=60)
    await state.redis.delete(key)
    # Then this process still serves its own copy
    assert await state.cache.get(key) == b"answer"
