"""Dramatiq on the Redis broker: one actor per registered task, each message naming an outbox
row, and the sender the relay hands rows to the broker with.

A message carries only the outbox row's id; the actor reads the task and its arguments from
the row, so a message sent twice (the relay crashed between sending and recording it) finds the
row gone the second time and does nothing. Retries: the actor records each failure on the row
and asks Dramatiq to retry after our backoff (`dramatiq.Retry(delay=…)`); past the task's
retries it marks the row dead and raises `TaskDead`, which the actor `throws`, so Dramatiq
fails the message into its own dead-letter queue as well (kept there 7 days, Dramatiq's
default `dead_message_ttl`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, Middleware, Retries, default_middleware

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.worker import outbox, registry
from aiqleads.worker.context import TaskContext, build_context
from aiqleads.worker.dispatcher import Sender
from aiqleads.worker.execute import run_row

log = logging.getLogger(__name__)


# Seconds Dramatiq's time limit stands behind a task's own, for the task to record its
# failure when its own limit cancels it.
_TIME_LIMIT_MARGIN_S = 60.0


class TaskDead(Exception):
    """The task failed past its retries: Dramatiq must not retry it again."""


class TaskContextMiddleware(Middleware):
    """Holds the worker process's TaskContext: built at the first message, inside Dramatiq's
    event-loop thread (asyncpg connections belong to one loop), closed at shutdown."""

    def __init__(self, factory: Callable[[], TaskContext]) -> None:
        self._factory = factory
        self._ctx: TaskContext | None = None

    def context(self) -> TaskContext:
        # Only called from coroutines on the one event-loop thread: no lock needed.
        if self._ctx is None:
            self._ctx = self._factory()
        return self._ctx

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        # Runs before AsyncIO's own (after_* hooks go in reverse order): the loop still runs.
        ctx, self._ctx = self._ctx, None
        thread = get_event_loop_thread()
        if ctx is not None and thread is not None:
            thread.run_coroutine(ctx.aclose())


def _actor_fn(name: str, holder: TaskContextMiddleware) -> Callable[[int], Any]:
    async def run(outbox_id: int) -> None:
        ctx = holder.context()
        async with transaction(ctx.sessions) as session:
            row = await outbox.load(session, outbox_id)
        if row is None:
            return  # done already (a message sent twice), or dead
        outcome = await run_row(ctx, row, queued=True)
        if outcome.kind == "retry" and outcome.retry_at is not None:
            wait = (outcome.retry_at - ctx.clock.now()).total_seconds()
            raise dramatiq.Retry(outcome.error or "", delay=max(0, int(wait * 1000)))
        if outcome.kind == "dead":
            raise TaskDead(outcome.error or "failed past its retries")

    run.__name__ = run.__qualname__ = name.replace(".", "_")
    return run


def build_broker(
    settings: Settings, *, context_factory: Callable[[], TaskContext] | None = None
) -> RedisBroker:
    """A Redis broker (AIQ_REDIS_URL, keys prefixed with AIQ_WORKER__NAMESPACE) with an actor
    for every task of `registry.TASK_MODULES` on the queue AIQ_WORKER__QUEUE_NAME."""
    if not settings.redis_url:
        raise ValueError("Dramatiq needs AIQ_REDIS_URL")
    worker = settings.worker
    holder = TaskContextMiddleware(context_factory or (lambda: build_context(settings)))
    middleware: list[Any] = [m() for m in default_middleware if m is not Retries]
    middleware += [
        Retries(
            max_retries=worker.max_retries + 2,
            min_backoff=int(worker.min_backoff_seconds * 1000),
            max_backoff=int(worker.max_backoff_seconds * 1000),
        ),
        AsyncIO(),
        holder,
    ]
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=settings.redis_url, namespace=worker.namespace, middleware=middleware
    )
    for task in registry.load_tasks().values():
        allowed = worker.max_retries if task.max_retries is None else task.max_retries
        dramatiq.Actor(
            _actor_fn(task.name, holder),
            broker=broker,
            actor_name=task.name,
            queue_name=worker.queue_name,
            priority=0,
            # Our row decides when a task is dead (TaskDead); Dramatiq's own limit is only a
            # backstop for failures to record a failure (the database away). Likewise its
            # time limit (10 minutes unless set) stands behind the task's own, which records
            # the failure: at 1M leads the hourly precompute once ran past Dramatiq's
            # default, was interrupted and retried from scratch, again and again.
            options={
                "max_retries": allowed + 2,
                "throws": (TaskDead,),
                "time_limit": int((task.time_limit(settings) + _TIME_LIMIT_MARGIN_S) * 1000),
            },
        )
    return broker


def sender_for(broker: RedisBroker, settings: Settings) -> Sender:
    """The relay's hand-over: one message naming the outbox row, on the task's queue."""
    queue = settings.worker.queue_name

    async def send(task: str, outbox_id: int) -> None:
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=queue, actor_name=task, args=(outbox_id,), kwargs={}, options={}
        )
        await asyncio.to_thread(broker.enqueue, message)

    return send
