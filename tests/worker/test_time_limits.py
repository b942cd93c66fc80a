"""Long tasks: a task that runs past its claim's window keeps its claim (no other runner starts
it again while it runs), and one that runs past its time limit is cancelled and counted as a
failed attempt, in process and on Dramatiq."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import TaskOutbox
from aiqleads.worker import execute, outbox, registry
from aiqleads.worker.context import TaskContext
from aiqleads.worker.dispatcher import Dispatcher
from aiqleads.worker.dramatiq_broker import build_broker
from tests.conftest import Backend
from tests.worker.tasks import CALLS, long, own_timeout, slow
from tests.worker.test_dramatiq import REDIS_URL, dramatiq_worker


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[TaskOutbox]:
    async with transaction(sessions) as session:
        return list((await session.scalars(select(TaskOutbox).order_by(TaskOutbox.id))).all())


async def _until(check: object, what: str) -> None:
    """Wait (up to a minute, never asserting how long) until the coroutine function holds."""
    deadline = time.monotonic() + 60
    while not await check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


def _with_worker(ctx: TaskContext, **worker: float) -> TaskContext:
    settings = ctx.settings.model_copy(
        update={"worker": ctx.settings.worker.model_copy(update=worker)}
    )
    return replace(ctx, settings=settings)


async def test_a_task_running_past_its_lease_is_not_started_again_by_another_runner(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    CALLS.clear()
    # Given two runners (two processes) with a lease of 0.3 s, and a task that runs 1.5 s
    ctx = _with_worker(task_ctx, lease_seconds=0.3)
    first = Dispatcher(ctx, mode="run", schedule=False)
    second = Dispatcher(ctx, mode="run", schedule=False)
    async with transaction(sessions) as session:
        await long.enqueue(session, seconds=1.5)
    running = asyncio.create_task(first.run_once())
    await _until(lambda: asyncio.sleep(0, "long started" in CALLS), "the task started")
    # When the lease it was claimed with has passed
    clock.advance(timedelta(seconds=10))

    async def renewed() -> bool:
        [row] = await _rows(sessions)
        return row.claimed_until is not None and row.claimed_until > clock.now()

    # Then its runner renews the claim, and the other runner finds nothing due
    await _until(renewed, "the claim was renewed past the lease")
    assert await second.run_once() == 0
    assert await running == 1
    assert CALLS == ["long started", "long finished"]
    assert await _rows(sessions) == []


async def test_a_task_from_the_broker_renews_its_claim_as_it_starts(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    CALLS.clear()
    # Given a row the broker delivers after a long wait in its queue: its claim, set when it
    # was relayed, lapses in a second, and the first periodic renewal is 1,000 s away
    ctx = _with_worker(task_ctx, requeue_after_seconds=3000.0)
    async with transaction(sessions) as session:
        row_id = await long.enqueue(session, seconds=0.3)
        await outbox.mark_queued(
            session, row_id, fencing_token=0, until=clock.now() + timedelta(seconds=1)
        )
        claimed = await outbox.load(session, row_id)
    assert claimed is not None
    # When it runs
    running = asyncio.create_task(execute.run_row(ctx, claimed, queued=True))
    await _until(lambda: asyncio.sleep(0, "long started" in CALLS), "the task started")
    # Then while it runs its claim holds for the broker's whole window, so the relay does not
    # send it again
    [row] = await _rows(sessions)
    assert row.claimed_until == clock.now() + timedelta(seconds=3000)
    assert (await running).kind == "ok"
    assert await _rows(sessions) == []


async def test_a_task_running_past_its_time_limit_is_cancelled_and_counted_as_failed(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession]
) -> None:
    CALLS.clear()
    # Given a task whose limit is 0.2 s that would sleep a minute, allowed no retry
    async with transaction(sessions) as session:
        await slow.enqueue(session, seconds=60.0)
    # When it runs
    assert await Dispatcher(task_ctx, mode="run", schedule=False).drain() == 1
    # Then it was stopped: dead, with the reason
    [row] = await _rows(sessions)
    assert CALLS == ["slow started"]
    assert (row.status, row.attempts, row.last_error) == (
        "dead",
        1,
        "TaskTimedOut: ran past its time limit of 0.2 s",
    )


async def test_a_timeout_of_the_tasks_own_is_not_taken_for_the_time_limit(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(sessions) as session:
        await own_timeout.enqueue(session)
    assert await Dispatcher(task_ctx, mode="run", schedule=False).drain() == 1
    [row] = await _rows(sessions)
    assert (row.status, row.last_error) == ("dead", "TimeoutError: the gateway did not answer")


async def test_a_task_within_its_time_limit_finishes(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession]
) -> None:
    CALLS.clear()
    async with transaction(sessions) as session:
        await slow.enqueue(session, seconds=0.0)
    assert await Dispatcher(task_ctx, mode="run", schedule=False).drain() == 1
    assert CALLS == ["slow started", "slow finished"]
    assert await _rows(sessions) == []


def test_the_time_limit_is_the_tasks_own_or_the_settings(task_ctx: TaskContext) -> None:
    settings = task_ctx.settings
    assert slow.time_limit(settings) == 0.2
    assert long.time_limit(settings) == settings.worker.time_limit_seconds == 600.0
    with pytest.raises(ValueError, match="time_limit_seconds must be > 0"):
        registry.task("tests.never", time_limit_seconds=0)


@pytest.mark.skipif(not REDIS_URL, reason="needs AIQ_TEST_REDIS_URL")
def test_dramatiqs_time_limit_stands_behind_each_tasks_own(task_ctx: TaskContext) -> None:
    """Dramatiq's own limit (10 minutes unless set) interrupts a run and retries it without
    our row knowing; each actor's limit is the task's own plus a minute."""
    settings = task_ctx.settings.model_copy(update={"redis_url": REDIS_URL})
    broker = build_broker(settings)
    try:
        assert broker.get_actor("tests.slow").options["time_limit"] == 60_200
        assert broker.get_actor("features.precompute").options["time_limit"] == (
            (registry.load_tasks()["features.precompute"].time_limit(settings) + 60) * 1000
        )
        assert broker.get_actor("tests.long").options["time_limit"] == 660_000
    finally:
        broker.close()


@pytest.mark.skipif(not REDIS_URL, reason="needs AIQ_TEST_REDIS_URL")
async def test_on_dramatiq_a_task_past_its_time_limit_is_dead_with_the_reason(
    backend: Backend, task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(sessions) as session:
        await slow.enqueue(session, seconds=60.0)
    async with dramatiq_worker(backend, task_ctx) as relay:
        assert await relay.drain() == 1

        async def dead() -> bool:
            return all(r.status == "dead" for r in await _rows(sessions))

        await _until(dead, "the task was dead-lettered")
    [row] = await _rows(sessions)
    assert (row.attempts, row.last_error) == (1, "TaskTimedOut: ran past its time limit of 0.2 s")
