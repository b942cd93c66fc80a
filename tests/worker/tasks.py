"""Tasks the worker tests enqueue: one that records its calls, one that always fails, and
slow ones for the claim renewal and the time limit."""

from __future__ import annotations

import asyncio

from aiqleads.worker import TaskContext, task

CALLS: list[str] = []  # appended from whichever thread runs the task (list.append is atomic)


@task("tests.record")
async def record(ctx: TaskContext, *, value: str) -> None:
    CALLS.append(value)


@task("tests.fail", max_retries=2)
async def fail(ctx: TaskContext, *, why: str) -> None:
    raise RuntimeError(why)


@task("tests.slow", max_retries=0, time_limit_seconds=0.2)
async def slow(ctx: TaskContext, *, seconds: float) -> None:
    """Sleeps longer than its time limit unless `seconds` is short."""
    CALLS.append("slow started")
    await asyncio.sleep(seconds)
    CALLS.append("slow finished")


@task("tests.long", max_retries=0)
async def long(ctx: TaskContext, *, seconds: float) -> None:
    """Sleeps `seconds` within the default time limit."""
    CALLS.append("long started")
    await asyncio.sleep(seconds)
    CALLS.append("long finished")


@task("tests.own_timeout", max_retries=0)
async def own_timeout(ctx: TaskContext) -> None:
    """Fails with a TimeoutError of its own (a call that timed out), before any limit."""
    raise TimeoutError("the gateway did not answer")
