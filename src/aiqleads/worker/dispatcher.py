"""One loop per process that moves tasks along: it enqueues periodic tasks when their period
comes (the schedule), and either runs due tasks itself (embedded) or relays them to the broker
(Dramatiq). The embedded default runs it in the app's lifespan; `aiqleads worker` runs the relay
and the schedule beside Dramatiq's worker processes.

Why our own scheduler and not periodiq: periodiq's schedules are cron lines, a minute at the
finest, and the hold sweeper runs every 30 s by default; and several periodiq processes (one per
worker host) would each enqueue every period. Here a period is enqueued by whichever scheduler
first moves the task's `task_schedule.last_slot` forward (one conditional UPDATE), however many
schedulers run, and the enqueue goes through the outbox like any other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import timedelta
from typing import Any, Literal

from aiqleads.db.engine import transaction
from aiqleads.worker import outbox, registry
from aiqleads.worker.context import TaskContext
from aiqleads.worker.execute import Outcome, run_row
from aiqleads.worker.wake import add_waker, remove_waker

log = logging.getLogger(__name__)

# Hands one outbox row to the broker: (task name, outbox id).
Sender = Callable[[str, int], Awaitable[None]]


class Dispatcher:
    """`mode="run"`: claim due tasks and run them here, up to AIQ_WORKER__CONCURRENCY at once.
    `mode="relay"`: claim due tasks and hand each to `sender` (the broker). `schedule`: also
    enqueue the periodic tasks."""

    def __init__(
        self,
        ctx: TaskContext,
        *,
        mode: Literal["run", "relay"],
        sender: Sender | None = None,
        schedule: bool = True,
    ) -> None:
        if mode == "relay" and sender is None:
            raise ValueError("a relaying dispatcher needs a sender")
        self.ctx = ctx
        self.mode = mode
        self._sender = sender
        self._schedule = schedule
        self._tasks = registry.load_tasks()
        self._slots: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        # Set by stop(): the loop ends at its next turn even if the cancellation is lost
        # (before Python 3.12, asyncio.wait_for can return the result instead of raising
        # CancelledError when the awaited future completes as the cancel arrives, gh-86296;
        # a test server once kept running its tasks for minutes after "Waiting for
        # application shutdown").
        self._stopping = False
        self._running: set[asyncio.Task[Outcome]] = set()

    # --- one step at a time (tests, and the loop below) ----------------------------------------

    async def tick_schedule(self) -> int:
        """Enqueue each periodic task whose period has come; returns how many this call did."""
        now = self.ctx.clock.now()
        enqueued = 0
        for task in self._tasks.values():
            if task.every is None:
                continue
            period = task.every(self.ctx.settings)
            slot = int(now.timestamp() // period)
            if self._slots.get(task.name, -1) >= slot:
                continue  # this process already saw this period taken
            async with transaction(self.ctx.sessions) as session:
                if await outbox.advance_schedule(session, task.name, slot=slot, now=now):
                    await task.enqueue(session)
                    enqueued += 1
            self._slots[task.name] = slot
        return enqueued

    async def _claim(self, limit: int) -> list[outbox.Claimed]:
        now = self.ctx.clock.now()
        worker = self.ctx.settings.worker
        statuses = (outbox.PENDING,) if self.mode == "run" else (outbox.PENDING, outbox.QUEUED)
        async with transaction(self.ctx.sessions) as session:
            return await outbox.claim_due(
                session,
                now=now,
                until=now + timedelta(seconds=worker.lease_seconds),
                limit=limit,
                statuses=statuses,
            )

    async def _relay(self, row: outbox.Claimed) -> None:
        assert self._sender is not None
        await self._sender(row.task, row.id)
        until = self.ctx.clock.now() + timedelta(
            seconds=self.ctx.settings.worker.requeue_after_seconds
        )
        async with transaction(self.ctx.sessions) as session:
            await outbox.mark_queued(session, row.id, fencing_token=row.fencing_token, until=until)

    async def run_once(self, *, limit: int = 100) -> int:
        """Tick the schedule, then run (or relay) up to `limit` due tasks one after another;
        returns how many were run or relayed."""
        if self._schedule:
            await self.tick_schedule()
        rows = await self._claim(limit)
        for row in rows:
            if self.mode == "run":
                await run_row(self.ctx, row, queued=False)
            else:
                await self._relay(row)
        return len(rows)

    async def drain(self, *, rounds: int = 1000) -> int:
        """`run_once` until nothing is due; returns the total. Raises RuntimeError when work is
        still due after `rounds` rounds (a task that enqueues itself at once, forever)."""
        total = 0
        for _ in range(rounds):
            done = await self.run_once()
            if not done:
                return total
            total += done
        raise RuntimeError(f"tasks still due after {rounds} rounds")

    # --- in the background ---------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox now (thread-safe; called after commits that enqueued)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        """Run the loop in the background of the running event loop."""
        if self._main is not None:
            raise RuntimeError("dispatcher already started")
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        add_waker(self.wake)
        self._main = asyncio.create_task(self._forever(), name="aiq-task-dispatcher")
        log.info(
            "task dispatcher started",
            extra={"mode": self.mode, "schedule": self._schedule, "tasks": sorted(self._tasks)},
        )

    async def stop(self, *, grace_seconds: float = 10.0) -> None:
        """Stop taking tasks: the loop ends after the step in flight, and running tasks
        finish, within `grace_seconds` in all; what is still running then is cancelled (a
        task's row stays claimed until its lease passes, then runs again)."""
        remove_waker(self.wake)
        self._stopping = True
        deadline = asyncio.get_running_loop().time() + grace_seconds
        if self._main is not None:
            # Woken rather than cancelled: a step cancelled in the middle of its claim's
            # UPDATE could leave the write open on SQLite's one connection ('database is
            # locked' for the next writer), as a cancelled claim renewal once did.
            self._wake.set()
            done, _ = await asyncio.wait({self._main}, timeout=grace_seconds)
            if not done:
                self._main.cancel()
                with suppress(asyncio.CancelledError):
                    await self._main
            self._main = None
        if self._running:
            left = max(0.0, deadline - asyncio.get_running_loop().time())
            _, late = await asyncio.wait(self._running, timeout=left)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _forever(self) -> None:
        poll = self.ctx.settings.worker.poll_seconds
        while not self._stopping:
            self._wake.clear()
            try:
                await self._step()
            except Exception:  # the database away for a moment: try again at the next poll
                log.exception("task dispatcher step failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll)

    async def _step(self) -> None:
        if self._schedule:
            await self.tick_schedule()
        if self.mode == "relay":
            while not self._stopping and (rows := await self._claim(100)):
                for row in rows:
                    await self._relay(row)
            return
        free = self.ctx.settings.worker.concurrency - len(self._running)
        if free <= 0 or self._stopping:
            return
        for row in await self._claim(free):
            running = asyncio.create_task(run_row(self.ctx, row, queued=False))
            self._running.add(running)
            running.add_done_callback(self._finished)

    def _finished(self, done: asyncio.Task[Any]) -> None:
        self._running.discard(done)
        if not done.cancelled() and done.exception() is not None:
            log.error("task runner crashed", exc_info=done.exception())
        self._wake.set()  # a slot is free: look for more
