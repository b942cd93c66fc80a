"""Publish and subscribe: Redis pub/sub when configured, in-process fan-out otherwise.

    await notices.publish("market", {"type": "leads_available", ...})

    async with notices.subscribe(["account:42", "market"]) as feed:
        async for channel, message in feed:
            ...

Delivery is at most once and only to subscriptions open at the time (pub/sub, not a queue): a
notice is a nudge for a live screen, never the record of anything; what it says is also in the
database. A subscription is open from `__aenter__` on (or its first read), so nothing published
after `async with … as feed:` is missed. Messages are JSON objects (`aiqleads.notices.channels`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from contextlib import suppress
from types import TracebackType
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Message = dict[str, Any]
Notice = tuple[str, Message]  # (channel, message)


class Subscription(Protocol):
    """An async iterator of (channel, message) pairs; close it with `aclose` or `async with`."""

    async def __aenter__(self) -> Subscription: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> Subscription: ...

    async def __anext__(self) -> Notice: ...

    async def aclose(self) -> None: ...


class Notices(Protocol):
    name: str

    async def publish(self, channel: str, message: Mapping[str, Any]) -> int:
        """Send `message` (a JSON object) to the subscribers of `channel`; returns how many
        subscriptions got it (in this process, or across Redis). Never raises for a broker
        failure: a lost notice must not undo the work that caused it. Raises TypeError when the
        message is not JSON."""
        ...

    def subscribe(self, channels: Sequence[str]) -> Subscription:
        """A subscription to `channels`: (channel, message) pairs as they are published."""
        ...


def _encode(message: Mapping[str, Any]) -> str:
    try:
        return json.dumps(message)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"a notice must be a JSON object: {exc}") from None


class _Base:
    async def __aenter__(self) -> Any:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Any:
        return self

    async def _open(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


class InProcessNotices:
    """Fan-out to this process's subscriptions, each with its own bounded queue: one that falls
    `max_pending` messages behind loses the oldest, so a slow reader cannot grow memory without
    bound. Used only from the event loop's thread."""

    name = "in-process"

    def __init__(self, *, max_pending: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Notice]]] = {}
        self.max_pending = max_pending

    async def publish(self, channel: str, message: Mapping[str, Any]) -> int:
        body: Message = json.loads(_encode(message))  # each subscriber its own copy
        queues = self._subscribers.get(channel, set())
        for queue in queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait((channel, body))
        return len(queues)

    def subscribe(self, channels: Sequence[str]) -> Subscription:
        return _InProcessSubscription(self, list(channels))

    def _add(self, channels: list[str], queue: asyncio.Queue[Notice]) -> None:
        for channel in channels:
            self._subscribers.setdefault(channel, set()).add(queue)

    def _remove(self, channels: list[str], queue: asyncio.Queue[Notice]) -> None:
        for channel in channels:
            subscribers = self._subscribers.get(channel)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[channel]


class _InProcessSubscription(_Base):
    def __init__(self, hub: InProcessNotices, channels: list[str]) -> None:
        self._hub = hub
        self._channels = channels
        self._queue: asyncio.Queue[Notice] = asyncio.Queue(hub.max_pending)
        self._open_ = False

    async def _open(self) -> None:
        if not self._open_:
            self._hub._add(self._channels, self._queue)
            self._open_ = True

    async def __anext__(self) -> Notice:
        await self._open()
        return await self._queue.get()

    def received(self) -> list[Notice]:
        """What has arrived and not been read yet, without waiting (tests read it so)."""
        out: list[Notice] = []
        while not self._queue.empty():
            out.append(self._queue.get_nowait())
        return out

    async def aclose(self) -> None:
        self._hub._remove(self._channels, self._queue)


class RedisNotices:
    """Redis pub/sub on channels prefixed with `{namespace}:notices:`, so several deployments
    may share one Redis. Each subscription holds one Redis connection."""

    name = "redis"

    def __init__(self, redis: Redis, *, namespace: str = "aiq") -> None:
        self._redis = redis
        self.prefix = f"{namespace}:notices:"

    async def publish(self, channel: str, message: Mapping[str, Any]) -> int:
        body = _encode(message)
        try:
            return int(await self._redis.publish(self.prefix + channel, body))
        except RedisError as exc:
            log.warning("notice not published: %s", type(exc).__name__)
            return 0

    def subscribe(self, channels: Sequence[str]) -> Subscription:
        return _RedisSubscription(self._redis, self.prefix, list(channels))


class _RedisSubscription(_Base):
    def __init__(self, redis: Redis, prefix: str, channels: list[str]) -> None:
        self._redis = redis
        self._prefix = prefix
        self._channels = channels
        self._pubsub: PubSub | None = None

    async def _open(self) -> None:
        if self._pubsub is not None:
            return
        pubsub = self._redis.pubsub()
        self._pubsub = pubsub
        await pubsub.subscribe(*(self._prefix + c for c in self._channels))
        # Wait for Redis to confirm each channel: from then on no publish is missed.
        confirmed = 0
        while confirmed < len(self._channels):
            raw = await pubsub.get_message(timeout=5.0)
            if raw is None:
                raise RedisError("Redis did not confirm the subscription")
            confirmed += raw.get("type") == "subscribe"

    async def __anext__(self) -> Notice:
        await self._open()
        assert self._pubsub is not None
        while True:
            raw = await self._pubsub.get_message(timeout=None)
            if raw is None or raw.get("type") != "message":
                continue
            channel = _text(raw["channel"]).removeprefix(self._prefix)
            try:
                body = json.loads(raw["data"])
            except ValueError:
                log.warning("unreadable notice on %s skipped", channel)
                continue
            return channel, body

    async def aclose(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is None:
            return
        with suppress(RedisError):
            await pubsub.unsubscribe()
        # Typed from redis 8.2 on, untyped before: either way mypy is satisfied.
        await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def build_notices(redis: Redis | None, *, namespace: str = "aiq") -> Notices:
    """Redis pub/sub on `redis`, or in-process fan-out when there is none."""
    return RedisNotices(redis, namespace=namespace) if redis is not None else InProcessNotices()
