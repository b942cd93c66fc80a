"""The same tasks on Dramatiq with the Redis broker (AIQ_TEST_REDIS_URL): the relay hands
committed outbox rows to the broker, a Dramatiq worker runs them, a failing task is retried and
then dead-lettered, in our table and in Dramatiq's dead-letter queue."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from dramatiq import Worker
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.models import TaskOutbox
from aiqleads.worker.context import TaskContext
from aiqleads.worker.dispatcher import Dispatcher
from aiqleads.worker.dramatiq_broker import build_broker, sender_for
from tests.conftest import Backend
from tests.worker.tasks import CALLS, fail, record

REDIS_URL = os.environ.get("AIQ_TEST_REDIS_URL")


async def _eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait (up to a minute, never asserting how long) until `check` holds."""
    deadline = time.monotonic() + 60
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[TaskOutbox]:
    async with transaction(sessions) as session:
        return list((await session.scalars(select(TaskOutbox))).all())


@dataclass
class Runner:
    """Runs whatever is in the outbox: in-process, or through Dramatiq."""

    kind: str
    run: Callable[[], Awaitable[None]]


@pytest.fixture(params=["embedded", "dramatiq"])
async def runner(
    request: pytest.FixtureRequest,
    backend: Backend,
    task_ctx: TaskContext,
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Runner]:
    if request.param == "embedded":
        dispatcher = Dispatcher(task_ctx, mode="run", schedule=False)

        async def drain() -> None:
            await dispatcher.drain()

        yield Runner("embedded", drain)
        return
    if not REDIS_URL:
        pytest.skip("needs AIQ_TEST_REDIS_URL")
    async with dramatiq_worker(backend, task_ctx) as relay:

        async def relay_and_wait() -> None:
            await relay.drain()
            await _eventually(lambda: _settled(sessions), "the worker took every task")

        yield Runner("dramatiq", relay_and_wait)


async def _settled(sessions: async_sessionmaker[AsyncSession]) -> bool:
    return all(r.status == "dead" for r in await _rows(sessions))


class dramatiq_worker:
    """A Dramatiq worker (one thread) on a namespace of its own in the test Redis, with the
    test database; entering yields the relay that feeds it."""

    def __init__(self, backend: Backend, task_ctx: TaskContext) -> None:
        worker = task_ctx.settings.worker.model_copy(
            update={
                "namespace": f"aiq-test-{uuid.uuid4().hex[:8]}",
                "min_backoff_seconds": 0.05,
                "max_backoff_seconds": 0.2,
            }
        )
        self.settings = task_ctx.settings.model_copy(
            update={"redis_url": REDIS_URL, "worker": worker}
        )
        self.task_ctx = task_ctx
        self.broker: RedisBroker | None = None
        self.worker: Worker | None = None

    async def __aenter__(self) -> Dispatcher:
        from aiqleads.worker.context import build_context

        # The worker's tasks get their own engine on Dramatiq's event-loop thread, as in a
        # worker process (the system clock: Dramatiq's retry delays are real time).
        self.broker = build_broker(
            self.settings, context_factory=lambda: build_context(self.settings)
        )
        self.worker = Worker(self.broker, worker_threads=1, worker_timeout=100)
        self.worker.start()
        ctx = TaskContext(**{**self.task_ctx.__dict__, "settings": self.settings})
        return Dispatcher(
            ctx, mode="relay", sender=sender_for(self.broker, self.settings), schedule=False
        )

    async def __aexit__(self, *exc: Any) -> None:
        assert self.worker is not None and self.broker is not None
        await asyncio.to_thread(self.worker.stop, 10_000)
        self.broker.flush_all()
        self.broker.close()

    def dead_letters(self) -> int:
        assert self.broker is not None
        key = f"{self.settings.worker.namespace}:{self.settings.worker.queue_name}.XQ"
        return int(self.broker.client.zcard(key))


async def test_the_same_task_runs_in_process_and_on_dramatiq(
    runner: Runner, sessions: async_sessionmaker[AsyncSession]
) -> None:
    CALLS.clear()
    # Given two tasks enqueued and committed, and one rolled back
    async with transaction(sessions) as session:
        await record.enqueue(session, value=f"{runner.kind}-1")
        await record.enqueue(session, value=f"{runner.kind}-2")
    with pytest.raises(RuntimeError):
        async with transaction(sessions) as session:
            await record.enqueue(session, value="never")
            raise RuntimeError("rolled back")
    # When the runner runs what is due
    await runner.run()
    # Then each committed task ran once, and the outbox is empty
    assert sorted(CALLS) == [f"{runner.kind}-1", f"{runner.kind}-2"]
    assert await _rows(sessions) == []


@pytest.mark.skipif(not REDIS_URL, reason="needs AIQ_TEST_REDIS_URL")
async def test_on_dramatiq_a_failing_task_is_retried_then_dead_lettered(
    backend: Backend, task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # Given a task that always fails (2 retries allowed), relayed to a Dramatiq worker
    async with transaction(sessions) as session:
        await fail.enqueue(session, why="always")
    worker = dramatiq_worker(backend, task_ctx)
    async with worker as relay:
        assert await relay.drain() == 1
        # When the worker has run it until it gives up
        await _eventually(lambda: _settled(sessions), "the task was dead-lettered")
        # Then our row says dead after 3 runs, with the error, and Dramatiq's dead-letter queue
        # holds the message too
        [row] = await _rows(sessions)
        assert (row.status, row.attempts, row.last_error) == ("dead", 3, "RuntimeError: always")
        await _eventually(
            lambda: asyncio.sleep(0, worker.dead_letters() == 1), "Dramatiq dead-lettered it"
        )
