"""The embedded runner: tasks enqueued through the outbox run after commit (never after a
rollback), failing ones are retried with backoff and then dead-lettered, the schedule enqueues
each period once however many schedulers run, and the app's lifespan runs it all in-process."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.app import create_app
from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import TaskOutbox
from aiqleads.worker import outbox
from aiqleads.worker.context import TaskContext
from aiqleads.worker.dispatcher import Dispatcher
from aiqleads.worker.registry import task
from tests.worker.tasks import CALLS, fail, record


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[TaskOutbox]:
    async with transaction(sessions) as session:
        return list((await session.scalars(select(TaskOutbox).order_by(TaskOutbox.id))).all())


def _count(task_name: str, outcome: str) -> float:
    """Runs of the task with this outcome that `aiq_tasks_total` counted in this process."""
    labels = {"task": task_name, "outcome": outcome}
    return REGISTRY.get_sample_value("aiq_tasks_total", labels) or 0.0


async def test_a_task_runs_after_its_transaction_commits_and_never_after_a_rollback(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession]
) -> None:
    CALLS.clear()
    runner = Dispatcher(task_ctx, mode="run", schedule=False)
    # Given a task enqueued in a transaction that rolls back
    with pytest.raises(RuntimeError, match="undo"):
        async with transaction(sessions) as session:
            await record.enqueue(session, value="rolled back")
            raise RuntimeError("undo")
    # Then nothing is queued and nothing runs
    assert await _rows(sessions) == []
    assert await runner.drain() == 0
    # Given one enqueued in a transaction not yet committed
    async with transaction(sessions) as session:
        await record.enqueue(session, value="committed")
        # When the runner looks before the commit, it sees nothing
        assert await runner.drain() == 0
    # When it looks after the commit, the task runs once and its row is gone
    assert await runner.drain() == 1
    assert CALLS == ["committed"]
    assert await _rows(sessions) == []


async def test_a_task_not_due_yet_waits_for_its_time(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    CALLS.clear()
    runner = Dispatcher(task_ctx, mode="run", schedule=False)
    async with transaction(sessions) as session:
        await record.enqueue_at(session, clock.now() + timedelta(minutes=5), value="later")
    assert await runner.drain() == 0
    clock.advance(timedelta(minutes=5))
    assert await runner.drain() == 1
    assert CALLS == ["later"]


async def test_a_failing_task_is_retried_with_backoff_then_dead_lettered(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a task that always fails, allowed 2 retries, backoff 10 s doubling up to 60 s
    settings = task_ctx.settings.model_copy(
        update={
            "worker": task_ctx.settings.worker.model_copy(
                update={"min_backoff_seconds": 10.0, "max_backoff_seconds": 60.0}
            )
        }
    )
    ctx = replace(task_ctx, settings=settings)
    runner = Dispatcher(ctx, mode="run", schedule=False)
    dead_before = _count("tests.fail", "dead")
    async with transaction(sessions) as session:
        await fail.enqueue(session, why="receiver down")
    # When it runs: it fails, and waits 5-10 s for its first retry
    assert await runner.drain() == 1
    [row] = await _rows(sessions)
    assert (row.status, row.attempts, row.last_error) == (
        "pending",
        1,
        "RuntimeError: receiver down",
    )
    assert row.not_before is not None
    first_wait = row.not_before - clock.now()
    assert timedelta(seconds=5) <= first_wait <= timedelta(seconds=10)
    assert await runner.drain() == 0  # not due yet
    # When its time comes it fails again, and waits longer (10-20 s)
    clock.advance(first_wait)
    assert await runner.drain() == 1
    [row] = await _rows(sessions)
    assert row.attempts == 2 and row.not_before is not None
    second_wait = row.not_before - clock.now()
    assert timedelta(seconds=10) <= second_wait <= timedelta(seconds=20)
    # When the last retry fails too, the task is dead: kept with its error, never run again
    clock.advance(second_wait)
    assert await runner.drain() == 1
    [row] = await _rows(sessions)
    assert (row.status, row.attempts, row.failed_at) == ("dead", 3, clock.now())
    clock.advance(timedelta(days=1))
    assert await runner.drain() == 0
    async with transaction(sessions) as session:
        [dead] = await outbox.dead(session)
    assert (dead.task, dead.kwargs, dead.last_error) == (
        "tests.fail",
        {"why": "receiver down"},
        "RuntimeError: receiver down",
    )
    assert _count("tests.fail", "dead") == dead_before + 1
    # And an operator can run it again from zero
    async with transaction(sessions) as session:
        assert await outbox.revive(session, dead.id)
    assert await runner.drain() == 1
    [row] = await _rows(sessions)
    assert (row.status, row.attempts) == ("pending", 1)


async def test_a_row_naming_no_known_task_is_dead_at_once(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(sessions) as session:
        await outbox.add(session, "tests.no_such_task", [], {}, not_before=None)
    assert await Dispatcher(task_ctx, mode="run", schedule=False).drain() == 1
    [row] = await _rows(sessions)
    assert row.status == "dead"
    assert row.last_error is not None and "no task named 'tests.no_such_task'" in row.last_error


async def test_task_arguments_must_be_json(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        with pytest.raises(TypeError, match="JSON"):
            await record.enqueue(session, value=object())  # type: ignore[arg-type]


PERIODIC: list[str] = []


@task("tests.periodic", every=lambda settings: 30.0)
async def periodic(ctx: TaskContext) -> None:
    PERIODIC.append(ctx.clock.now().isoformat())


async def test_the_schedule_enqueues_each_period_once_however_many_schedulers_run(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    PERIODIC.clear()
    clock.set(clock.now().replace(second=0))  # the start of a 30 s period
    # Given two schedulers (two API processes, or worker hosts)
    one = Dispatcher(task_ctx, mode="run")
    two = Dispatcher(task_ctx, mode="run")
    # When both tick in the same period, then the task is enqueued once
    assert await one.tick_schedule() + await two.tick_schedule() == _periodic_count(one)
    assert await one.tick_schedule() + await two.tick_schedule() == 0
    await one.drain()
    assert len(PERIODIC) == 1
    # When 29 s pass nothing more; at 30 s the next period is enqueued once
    clock.advance(timedelta(seconds=29))
    assert await two.tick_schedule() + await one.tick_schedule() == 0
    clock.advance(timedelta(seconds=1))
    await two.drain()
    await one.drain()
    assert len(PERIODIC) == 2


def _periodic_count(dispatcher: Dispatcher) -> int:
    """How many periodic tasks the registry has (the hold sweeper, and this test's)."""
    return sum(1 for t in dispatcher._tasks.values() if t.every is not None)


STARTED: asyncio.Event | None = None


@task("tests.signal")
async def signal(ctx: TaskContext) -> None:
    assert STARTED is not None
    STARTED.set()


async def test_the_app_runs_tasks_in_process_woken_by_the_commit(
    engine: AsyncEngine, settings: Settings, clock: FrozenClock
) -> None:
    global STARTED
    STARTED = asyncio.Event()
    # Given the app with the embedded backend and its dispatcher on, looking at the outbox only
    # every 10 minutes unless woken
    worker = settings.worker.model_copy(
        update={"backend": "embedded", "start_in_app": True, "poll_seconds": 600.0}
    )
    app = create_app(settings.model_copy(update={"worker": worker}), clock=clock)
    async with app.router.lifespan_context(app):
        sessions = app.state.aiq.sessions
        await asyncio.sleep(0)  # let the dispatcher make its first look
        # When a task is enqueued and committed
        async with transaction(sessions) as session:
            await signal.enqueue(session)
        # Then the dispatcher, woken by the commit, runs it (well before its next poll)
        await asyncio.wait_for(STARTED.wait(), timeout=60)
        for _ in range(100):  # the row goes once the task's own transaction commits
            if not await _rows(sessions):
                break
            await asyncio.sleep(0.05)
        assert await _rows(sessions) == []


async def test_stop_ends_the_loop_even_when_the_cancellation_is_lost(
    task_ctx: TaskContext,
) -> None:
    # Given a running dispatcher whose loop task will not see its cancellation (as happens
    # when asyncio.wait_for returns just as the cancel arrives, before Python 3.12)
    runner = Dispatcher(task_ctx, mode="run", schedule=False)
    runner.start()
    main = runner._main
    assert main is not None
    main.cancel = lambda *args, **kwargs: False  # type: ignore[method-assign]
    # When it is stopped
    await asyncio.wait_for(runner.stop(), timeout=30)
    # Then its loop has ended at its next turn (before, stop() waited for it forever)
    assert main.done() and not main.cancelled()


async def _claiming(
    task_ctx: TaskContext, release: asyncio.Event, finished: list[bool]
) -> tuple[Dispatcher, asyncio.Task[None]]:
    """A started dispatcher in the middle of its claim, which completes (appending to
    `finished`) once `release` is set; returns it and its loop task."""
    runner = Dispatcher(task_ctx, mode="run", schedule=False)
    claiming = asyncio.Event()

    async def claim(limit: int) -> list[outbox.Claimed]:
        claiming.set()
        await release.wait()
        finished.append(True)
        return []

    runner._claim = claim  # type: ignore[method-assign]
    runner.start()
    await asyncio.wait_for(claiming.wait(), timeout=30)
    assert runner._main is not None
    return runner, runner._main


async def test_stop_lets_the_step_in_flight_finish_its_claim(task_ctx: TaskContext) -> None:
    # Given a running dispatcher in the middle of a claim (its UPDATE on the database)
    release, finished = asyncio.Event(), list[bool]()
    runner, main = await _claiming(task_ctx, release, finished)
    # When it is stopped while the claim runs, and the claim then completes
    stopping = asyncio.create_task(runner.stop(grace_seconds=30))
    await asyncio.sleep(0.05)
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, timeout=30)
    # Then the claim was not cancelled half-way: it finished, and the loop ended after it
    assert finished == [True]
    assert main.done() and not main.cancelled()


async def test_stop_cancels_a_step_that_outlasts_its_grace(task_ctx: TaskContext) -> None:
    # Given a dispatcher whose claim never ends (a database that does not answer)
    finished: list[bool] = []
    runner, main = await _claiming(task_ctx, asyncio.Event(), finished)
    # When it is stopped with a short grace, the step is cancelled and stop returns
    await asyncio.wait_for(runner.stop(grace_seconds=0.1), timeout=30)
    assert main.cancelled() and finished == []
