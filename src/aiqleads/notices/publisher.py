"""Publish and subscribe: Redis pub/sub when configured, in-process fan-out otherwise.

Delivery is at most once and only to subscribers present at the time (pub/sub, not a queue):
a notice is a nudge for a live screen, never the record of anything; what it says is also in
the database. Messages are JSON objects (see `aiqleads.notices.channels`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import suppress
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Message = dict[str, Any]


class Notices(Protocol):
    name: str

    async def publish(self, channel: str, message: Mapping[str, Any]) -> int:
        """Send `message` to the subscribers of `channel`; returns how many received it in
        this process (in-process) or how many Redis connections did (Redis). Never raises for
        a broker failure: a lost notice must not undo the work that caused it."""
        ...

    def subscribe(self, channels: Sequence[str]) -> AsyncIterator[tuple[str, Message]]:
        """(channel, message) pairs as they are published, until the iterator is closed."""
        ...


class InProcessNotices:
    """Fan-out to this process's subscribers, each with its own bounded queue: a subscriber
    that falls `max_pending` messages behind loses the oldest, so a slow reader cannot grow
    memory without bound. Used only from the event loop's thread."""

    name = "in-process"

    def __init__(self, *, max_pending: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[tuple[str, Message]]]] = {}
        self._max_pending = max_pending

    async def publish(self, channel: str, message: Mapping[str, Any]) -> int:
        body: Message = json.loads(json.dumps(message))  # the same copy and check as Redis
        queues = self._subscribers.get(channel, ())
        for queue in queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait((channel, body))
        return len(queues)

    async def subscribe(self, channels: Sequence[str]) -> AsyncIterator[tuple[str, Message]]:
        queue: asyncio.Queue[tuple[str, Message]] = asyncio.Queue(self._max_pending)
        for channel in channels:
            self._subscribers.setdefault(channel, set()).add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            for channel in channels:
                subscribers = self._subscribers.get(channel)
                if subscribers is not None:
                    subscribers.discard(queue)
                    if not subscribers:
                        del self._subscribers[channel]


class RedisNotices:
    """Redis pub/sub on channels prefixed with `namespace`, so several deployments may share
    one Redis. Each subscription holds one Redis connection."""

    name = "redis"

    def __init__(self, redis: Redis, *, namespace: str = "aiq") -> None:
        self._redis = redis
        self._prefix = f"{namespace}:notices:"

    async def publish(self, channel: str, message: Mapping[str, Any]) -> int:
        try:
            return int(await self._redis.publish(self._prefix + channel, json.dumps(message)))
        except RedisError as exc:
            log.warning("notice not published: %s", type(exc).__name__)
            return 0

    async def subscribe(self, channels: Sequence[str]) -> AsyncIterator[tuple[str, Message]]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(*(self._prefix + c for c in channels))
        try:
            async for raw in pubsub.listen():
                if raw.get("type") != "message":
                    continue
                channel = _text(raw["channel"]).removeprefix(self._prefix)
                try:
                    body = json.loads(raw["data"])
                except ValueError:
                    log.warning("unreadable notice on %s skipped", channel)
                    continue
                yield channel, body
        finally:
            with suppress(RedisError):
                await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def subscribed(self, channel: str) -> int:
        """How many Redis connections listen on `channel` now (PUBSUB NUMSUB)."""
        found = await self._redis.pubsub_numsub(self._prefix + channel)
        return int(found[0][1]) if found else 0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def build_notices(redis: Redis | None, *, namespace: str = "aiq") -> Notices:
    """Redis pub/sub on `redis`, or in-process fan-out when there is none."""
    return RedisNotices(redis, namespace=namespace) if redis is not None else InProcessNotices()
