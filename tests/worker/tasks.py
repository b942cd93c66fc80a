"""Tasks the worker tests enqueue: one that records its calls, one that always fails."""

from __future__ import annotations

from aiqleads.worker import TaskContext, task

CALLS: list[str] = []  # appended from whichever thread runs the task (list.append is atomic)


@task("tests.record")
async def record(ctx: TaskContext, *, value: str) -> None:
    CALLS.append(value)


@task("tests.fail", max_retries=2)
async def fail(ctx: TaskContext, *, why: str) -> None:
    raise RuntimeError(why)
