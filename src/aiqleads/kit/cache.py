"""A byte cache with a TTL: Redis when configured, in-process LRU otherwise.

Values are opaque bytes (callers store serialised answers, so a warm hit is one lookup and no
re-encoding). Every backend shares one small async interface, so callers never know which one
they hold. Keys carry their own invalidation (data versions), so there is no delete: a key
names its bytes, which is also what lets each process keep a near copy of Redis's entries
(`NearCache`).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from aiqleads.observability.metrics import NEAR_CACHE_HITS

log = logging.getLogger(__name__)


class ByteCache(Protocol):
    name: str

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, *, ttl_seconds: float) -> None: ...


class MemoryCache:
    """Least-recently-used entries up to `max_entries` and `max_bytes`, each with its own expiry.

    Per process: right for one worker (the embedded default); several workers need Redis.
    Not thread-safe, and need not be: it is only touched from the event loop.
    """

    name = "memory"

    def __init__(
        self,
        *,
        max_entries: int = 1024,
        max_bytes: int = 64 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._clock = clock

    def __len__(self) -> int:
        return len(self._items)

    async def get(self, key: str) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires <= self._clock():
            self._drop(key)
            return None
        self._items.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, *, ttl_seconds: float) -> None:
        if len(value) > self._max_bytes:
            return  # would evict everything else and still not fit
        if key in self._items:
            self._drop(key)
        self._items[key] = (self._clock() + ttl_seconds, value)
        self._bytes += len(value)
        while len(self._items) > self._max_entries or self._bytes > self._max_bytes:
            self._drop(next(iter(self._items)))

    def _drop(self, key: str) -> None:
        _, value = self._items.pop(key)
        self._bytes -= len(value)


class RedisCache:
    """Shared by every worker. A Redis failure is a cache miss, never a failed request."""

    name = "redis"

    def __init__(self, client: Redis) -> None:
        self._client = client

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._client.get(key)
        except RedisError as exc:
            log.warning("cache get failed: %s", type(exc).__name__)
            return None
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, *, ttl_seconds: float) -> None:
        try:
            await self._client.set(key, value, px=max(1, int(ttl_seconds * 1000)))
        except RedisError as exc:
            log.warning("cache set failed: %s", type(exc).__name__)


class NearCache:
    """`far`, the cache every worker shares (Redis), fronted by this process's own `near` LRU.

    Right only for keys that name their bytes, as every key of this cache does (the data
    versions and everything else an answer depends on are in the key, `geo.cache.build_key`):
    a key's value never changes, so a near copy is never staler than the far one, and the
    processes of a deployment still serve the same bytes for the same key. What it saves is a
    hit's Redis round trip: ~0.1 ms of the API's CPU for a catalog page, ~0.7 ms for a heatmap
    (its GeoJSON runs to tens of kB), and as much again of Redis's (bench/request_costs.py).

    A near copy lives at most `near_seconds`, however long the far entry does: an entry an
    operator drops from Redis, or one made stale by a database change that bypassed the
    versions (the far TTL's only remaining job), stops being served here within that time.
    """

    name = "redis+near"

    def __init__(self, far: ByteCache, near: MemoryCache, *, near_seconds: float) -> None:
        self._far = far
        self._near = near
        self._near_seconds = near_seconds

    async def get(self, key: str) -> bytes | None:
        found = await self._near.get(key)
        if found is not None:
            NEAR_CACHE_HITS.inc()
            return found
        found = await self._far.get(key)
        if found is not None:
            await self._near.set(key, found, ttl_seconds=self._near_seconds)
        return found

    async def set(self, key: str, value: bytes, *, ttl_seconds: float) -> None:
        near_seconds = min(ttl_seconds, self._near_seconds)
        await self._near.set(key, value, ttl_seconds=near_seconds)
        await self._far.set(key, value, ttl_seconds=ttl_seconds)


def build_cache(
    redis: Redis | None,
    *,
    max_entries: int = 1024,
    near_max_bytes: int = 0,
    near_seconds: float = 30.0,
) -> ByteCache:
    """Redis when `redis` is given, fronted by a near cache of `near_max_bytes` (0: none)
    whose copies live `near_seconds` at most (`NearCache`); else an in-process LRU of
    `max_entries` entries."""
    if redis is None:
        return MemoryCache(max_entries=max_entries)
    far = RedisCache(redis)
    if near_max_bytes <= 0 or near_seconds <= 0:
        return far
    # Entries are bounded by bytes; the count only keeps the LRU's bookkeeping small.
    near = MemoryCache(max_entries=max(max_entries, 4096), max_bytes=near_max_bytes)
    return NearCache(far, near, near_seconds=near_seconds)
