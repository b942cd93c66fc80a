"""What a task receives: settings, sessions, clock, cipher, notices and an HTTP client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.kit.clock import Clock, SystemClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.notices import Notices, build_notices


@dataclass
class TaskContext:
    """Shared by every task of a process. A task opens its own transactions with
    `aiqleads.db.engine.transaction(ctx.sessions)` and makes no network call inside one."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    cipher: FieldCipher
    notices: Notices
    http: httpx.AsyncClient
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list, repr=False)

    def on_close(self, close: Callable[[], Awaitable[None]]) -> None:
        """Have `aclose` call `close` (in reverse order of registration)."""
        self._closers.append(close)

    async def aclose(self) -> None:
        """Close what this context opened itself (not what it was given)."""
        for close in reversed(self._closers):
            await close()
        self._closers.clear()


def http_client(settings: Settings) -> httpx.AsyncClient:
    """The client outbound calls use: no redirects followed (a webhook receiver answers
    itself), the webhook timeout on every phase."""
    return httpx.AsyncClient(
        timeout=settings.webhooks.timeout_seconds,
        follow_redirects=False,
        headers={"User-Agent": "AIQLeads-Webhooks/1"},
    )


def build_context(settings: Settings, *, clock: Clock | None = None) -> TaskContext:
    """A context with its own engine, Redis client and HTTP client, for a worker process.
    Call it inside the event loop that will use it (asyncpg connections belong to one loop)."""
    engine = create_engine(settings)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    http = http_client(settings)
    ctx = TaskContext(
        settings=settings,
        sessions=session_factory(engine),
        clock=clock or SystemClock(),
        cipher=FieldCipher(settings.encryption_keys),
        notices=build_notices(redis, namespace=settings.cache_namespace),
        http=http,
    )
    ctx.on_close(engine.dispose)
    if redis is not None:
        ctx.on_close(redis.aclose)
    ctx.on_close(http.aclose)
    return ctx
