"""Run one task from its outbox row and record how it went: the same code for the embedded
runner and for Dramatiq's actors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from aiqleads.db.engine import transaction
from aiqleads.observability.metrics import TASK_DURATION, TASKS_RUN
from aiqleads.worker import outbox, registry
from aiqleads.worker.backoff import backoff_seconds
from aiqleads.worker.context import TaskContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Literal["ok", "retry", "dead", "skipped"]
    retry_at: datetime | None = None
    error: str | None = None


class TaskTimedOut(Exception):
    """A task ran past its time limit (`registry.Task.time_limit`); it was cancelled."""


async def run_row(ctx: TaskContext, row: outbox.Claimed, *, queued: bool) -> Outcome:
    """Run the row's task; on success delete the row; on failure count the attempt and either
    schedule a retry (exponential backoff with jitter) or, past the task's retries, keep the row
    as dead. `queued`: the row is with the broker, which will deliver the retry itself.

    While the task runs, its claim is renewed (`_claim_renewed`), so no other runner starts it
    again however long it takes. A run past the task's time limit is cancelled and counts as a
    failure (`TaskTimedOut`)."""
    task = registry.get(row.task)
    label = row.task if task is not None else "unknown"
    # A row from the broker was claimed when it was relayed, not when it starts: after a wait
    # in a long queue its claim may be about to lapse, and the relay would send it again, so
    # it is renewed first. A row this process has just claimed has its whole lease ahead.
    if queued and not await _renew(ctx, row, queued=True):
        # Claimed again since it was relayed (its claim lapsed in the queue): the runner of
        # that claim runs it, and one run here too would run beside it.
        TASKS_RUN.labels(task=label, outcome="superseded").inc()
        log.warning(
            "task not run: claimed again since it was sent, or the row is gone",
            extra={"outbox_id": row.id, "task": row.task},
        )
        return Outcome("skipped")
    started = time.perf_counter()
    try:
        if task is None:
            raise LookupError(f"no task named {row.task!r} in this process")
        limit = task.time_limit(ctx.settings)
        async with _claim_renewed(ctx, row, queued=queued):
            deadline = asyncio.timeout(limit)
            try:
                async with deadline:
                    await task.fn(ctx, *row.args, **row.kwargs)
            except TimeoutError:
                if not deadline.expired():
                    raise  # the task's own (a call of its timing out), not our limit
                raise TaskTimedOut(f"ran past its time limit of {limit:g} s") from None
    except Exception as exc:
        TASK_DURATION.labels(task=label).observe(time.perf_counter() - started)
        return await _failed(ctx, task, row, exc, queued=queued, label=label)
    TASK_DURATION.labels(task=label).observe(time.perf_counter() - started)
    async with transaction(ctx.sessions) as session:
        await outbox.finish(session, row.id)
    TASKS_RUN.labels(task=label, outcome="ok").inc()
    return Outcome("ok")


def _window(ctx: TaskContext, *, queued: bool) -> float:
    """Seconds a claim lasts: the broker's time for a row it holds, else the lease."""
    worker = ctx.settings.worker
    return worker.requeue_after_seconds if queued else worker.lease_seconds


async def _renew(ctx: TaskContext, row: outbox.Claimed, *, queued: bool) -> bool:
    """Extend the row's claim by its window: the lease (AIQ_WORKER__LEASE_SECONDS) when this
    process claimed it, the broker's time (AIQ_WORKER__REQUEUE_AFTER_SECONDS) when it came from
    the broker. False once the claim is no longer this runner's (another runner claimed the
    row: its fencing token moved on) or the row is gone; True also when the renewal failed (the
    database away: logged, and tried again at the next turn)."""
    window = _window(ctx, queued=queued)
    try:
        async with transaction(ctx.sessions) as session:
            until = ctx.clock.now() + timedelta(seconds=window)
            return await outbox.extend_claim(
                session, row.id, fencing_token=row.fencing_token, until=until
            )
    except Exception:
        log.warning(
            "task claim not renewed", extra={"outbox_id": row.id, "task": row.task}, exc_info=True
        )
        return True


@asynccontextmanager
async def _claim_renewed(
    ctx: TaskContext, row: outbox.Claimed, *, queued: bool
) -> AsyncIterator[None]:
    """Renew the row's claim (`_renew`) every third of its window while the body runs. Only a
    runner that died or stalled lets the claim lapse, and then another runs the task again;
    once another runner has claimed the row, renewing stops, and this run's outcome is no
    longer recorded but for a success (`outbox.record_failure`)."""
    window = _window(ctx, queued=queued)

    stop = asyncio.Event()

    async def renew() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=window / 3)
            if stop.is_set():
                return
            if not await _renew(ctx, row, queued=queued):
                log.warning(
                    "task claim lost to another runner, or the row is gone",
                    extra={"outbox_id": row.id, "task": row.task},
                )
                return

    renewer = asyncio.create_task(renew(), name=f"aiq-task-claim-{row.id}")
    try:
        yield
    finally:
        # Told to stop, not cancelled: a renewal cancelled while the driver runs its UPDATE
        # can leave that transaction open, and on SQLite every other writer then fails with
        # "database is locked" (the row's own DELETE among them). asyncio.wait, not `await
        # renewer`: a cancellation of this task (a stop past its grace period) still ends the
        # wait at once, without reaching the renewal's write.
        stop.set()
        await asyncio.wait({renewer})


async def _failed(
    ctx: TaskContext,
    task: registry.Task[Any] | None,
    row: outbox.Claimed,
    exc: Exception,
    *,
    queued: bool,
    label: str,
) -> Outcome:
    settings = ctx.settings.worker
    now = ctx.clock.now()
    failures = row.attempts + 1
    allowed = settings.max_retries if task is None or task.max_retries is None else task.max_retries
    error = f"{type(exc).__name__}: {exc}"
    retry_at: datetime | None = None
    if task is not None and failures <= allowed:
        wait = backoff_seconds(
            failures, base=settings.min_backoff_seconds, cap=settings.max_backoff_seconds
        )
        retry_at = now + timedelta(seconds=wait)
    claimed_until = None
    if queued and retry_at is not None:
        claimed_until = retry_at + timedelta(seconds=settings.requeue_after_seconds)
    async with transaction(ctx.sessions) as session:
        recorded = await outbox.record_failure(
            session,
            row.id,
            fencing_token=row.fencing_token,
            error=error,
            now=now,
            retry_at=retry_at,
            claimed_until=claimed_until,
        )
    if not recorded:
        # Another runner claimed the row after this one's lease lapsed: its run decides.
        TASKS_RUN.labels(task=label, outcome="superseded").inc()
        log.warning(
            "task failed after its claim was lost; the current claim's run decides",
            extra={"task": row.task, "outbox_id": row.id, "error": error},
        )
        return Outcome("skipped", error=error)
    if retry_at is None:
        TASKS_RUN.labels(task=label, outcome="dead").inc()
        log.error(
            "task dead-lettered",
            extra={"task": row.task, "outbox_id": row.id, "attempts": failures, "error": error},
            exc_info=exc,
        )
        return Outcome("dead", error=error)
    TASKS_RUN.labels(task=label, outcome="retry").inc()
    log.warning(
        "task failed, will retry",
        extra={"task": row.task, "outbox_id": row.id, "attempts": failures, "error": error},
    )
    return Outcome("retry", retry_at=retry_at, error=error)
