"""Rows written in batches after the requests that made them, by one task per process.

A recorder of best-effort rows (views, experiment exposures) notes each row in memory; its task
writes what gathered in one transaction every `interval` seconds, sooner once `batch` rows wait,
and on stop, which gives a write in flight `stop_seconds` (5) to commit before it cancels it (a
write cancelled at once lost its batch without counting it; one waited for without end held the
process's shutdown while the database did not answer). A failed or cancelled write is logged and
its rows counted as lost (`on_loss`): the caller's request never waits on it and a worker never
fails for it. A process killed between two flushes loses at most one interval's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction

log = logging.getLogger(__name__)

Row = Mapping[str, Any]


class BatchedWriter:
    """One process's buffer of rows and the task that flushes it with `write(session, rows)`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        write: Callable[[AsyncSession, list[Row]], Awaitable[None]],
        *,
        name: str,
        interval: float = 1.0,
        batch: int = 500,
        on_loss: Callable[[int], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._write = write
        self._name = name
        self._interval = interval
        self._batch = batch
        self._on_loss = on_loss
        self._pending: list[Row] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def add(self, row: Row) -> None:
        """Note one row; it is written at the next flush."""
        self._pending.append(row)
        if len(self._pending) >= self._batch:
            self._wake.set()

    async def flush(self) -> int:
        """Write every row noted so far in one transaction; returns how many (0 on failure)."""
        rows, self._pending = self._pending, []
        if not rows:
            return 0
        try:
            async with transaction(self._sessions) as session:
                await self._write(session, rows)
        except asyncio.CancelledError:
            self._lost(len(rows), "cancelled")
            raise
        except Exception:
            # Best effort by design (see the module docstring): log and count, never raise.
            self._lost(len(rows), "failed")
            return 0
        return len(rows)

    def _lost(self, count: int, how: str) -> None:
        log.error(
            "a batch was not written",
            extra={"writer": self._name, "rows": count, "write": how},
            exc_info=how == "failed",
        )
        if self._on_loss is not None:
            self._on_loss(count)

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()
            await self.flush()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self, *, stop_seconds: float = 5.0) -> None:
        """Stop the flushing task once its write in flight, if any, has ended (committed, or
        failed and counted), then write what is left. Each of the two waits is given
        `stop_seconds`; a write still running then is cancelled and its rows counted as lost.
        Never raises for a failed write. A caller cancelled while it waits leaves the write in
        flight running (a later `stop` waits for it again)."""
        task = self._task
        if task is not None:
            self._stopping = True
            self._wake.set()
            # asyncio.wait, not `await task`: a cancellation of the caller must not reach the
            # write, and a write that does not end must not hold the caller without bound.
            done, _ = await asyncio.wait({task}, timeout=stop_seconds)
            if not done:
                task.cancel()
                await asyncio.wait({task})
            self._task = None
        with contextlib.suppress(TimeoutError):  # its rows counted as lost by `flush`
            await asyncio.wait_for(self.flush(), timeout=stop_seconds)
