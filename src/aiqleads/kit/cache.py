"""A byte cache with a TTL: Redis when configured, in-process LRU otherwise.

Values are opaque bytes (callers store serialised answers, so a warm hit is one lookup and no
re-encoding). Both backends share one small async interface, so callers never know which one
they hold. Keys carry their own invalidation (data versions), so there is no delete.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

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


def build_cache(redis: Redis | None, *, max_entries: int = 1024) -> ByteCache:
    return RedisCache(redis) if redis is not None else MemoryCache(max_entries=max_entries)
