"""Tasks: plain async functions in their domain's `tasks` module, registered here by name.

    from aiqleads.worker import TaskContext, task

    @task("payments.reconcile")
    async def reconcile(ctx: TaskContext, *, order_id: int) -> None:
        async with transaction(ctx.sessions) as session:
            ...

    await reconcile.enqueue(session, order_id=order.id)   # runs after `session` commits

A task's arguments must be JSON values (numbers, strings, lists, dicts); pass ids, never ORM
objects. Tasks run at least once: after a crash at the wrong moment a task may run again, so
each must be safe to repeat (check the state it changes before changing it). A module that
defines tasks is listed in TASK_MODULES, so every process that runs tasks knows them all.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, Generic, ParamSpec

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import Settings
from aiqleads.worker import outbox
from aiqleads.worker.context import TaskContext

P = ParamSpec("P")

# Every module that defines tasks. Add yours here.
TASK_MODULES = (
    "aiqleads.worker.builtin",
    "aiqleads.cart.tasks",
    "aiqleads.webhooks.tasks",
    "aiqleads.checkout.tasks",
    "aiqleads.payments.tasks",
    "aiqleads.sources.tasks",
    "aiqleads.leads.tasks",
    "aiqleads.scoring.tasks",
    "aiqleads.recommend.tasks",
    "aiqleads.features.tasks",
    "aiqleads.geo.tasks",
)


@dataclass(frozen=True, eq=False)
class Task(Generic[P]):
    """A registered task. `max_retries` None: AIQ_WORKER__MAX_RETRIES. `every`: for a
    periodic task, its period in seconds read from the settings. `time_limit_seconds` None:
    AIQ_WORKER__TIME_LIMIT_SECONDS (see `time_limit`)."""

    name: str
    fn: Callable[Concatenate[TaskContext, P], Awaitable[None]]
    max_retries: int | None = None
    every: Callable[[Settings], float] | None = None
    time_limit_seconds: float | None = None

    def time_limit(self, settings: Settings) -> float:
        """Seconds a run may take before it is stopped and counted as a failed attempt."""
        if self.time_limit_seconds is not None:
            return self.time_limit_seconds
        return settings.worker.time_limit_seconds

    async def enqueue(self, session: AsyncSession, /, *args: P.args, **kwargs: P.kwargs) -> int:
        """Write the task to the outbox in `session`'s transaction: it runs once that
        transaction commits, and never if it rolls back. Returns the outbox row's id.
        Raises TypeError when an argument is not a JSON value."""
        return await outbox.add(session, self.name, _json(args), _json(kwargs), not_before=None)

    async def enqueue_at(
        self, session: AsyncSession, when: datetime, /, *args: P.args, **kwargs: P.kwargs
    ) -> int:
        """As `enqueue`, but the task runs no sooner than `when` (timezone-aware)."""
        if when.tzinfo is None:
            raise ValueError("enqueue_at needs a timezone-aware datetime")
        return await outbox.add(session, self.name, _json(args), _json(kwargs), not_before=when)

    async def __call__(self, ctx: TaskContext, /, *args: P.args, **kwargs: P.kwargs) -> None:
        """Run the task now, in this coroutine (tests, or a task calling another)."""
        await self.fn(ctx, *args, **kwargs)


def _json(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"task arguments must be JSON values: {exc}") from None


_REGISTRY: dict[str, Task[Any]] = {}


def task(
    name: str,
    *,
    max_retries: int | None = None,
    every: Callable[[Settings], float] | None = None,
    time_limit_seconds: float | None = None,
) -> Callable[[Callable[Concatenate[TaskContext, P], Awaitable[None]]], Task[P]]:
    """Register an async function `fn(ctx, ...)` as the task `name` ("domain.verb"; unique,
    and stable: queued rows name it). Raises ValueError for a name registered twice, or a
    time limit that is not a positive number of seconds."""
    if time_limit_seconds is not None and not time_limit_seconds > 0:
        raise ValueError(f"time_limit_seconds must be > 0, not {time_limit_seconds!r}")

    def register(fn: Callable[Concatenate[TaskContext, P], Awaitable[None]]) -> Task[P]:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"task {name!r} is registered twice")
        registered: Task[P] = Task(
            name=name,
            fn=fn,
            max_retries=max_retries,
            every=every,
            time_limit_seconds=time_limit_seconds,
        )
        _REGISTRY[name] = registered
        return registered

    return register


def load_tasks() -> dict[str, Task[Any]]:
    """Import every module of TASK_MODULES; returns the registry (name → task)."""
    for module in TASK_MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)


def get(name: str) -> Task[Any] | None:
    return _REGISTRY.get(name)
