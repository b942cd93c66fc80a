"""Views, recorded without slowing the request that made them.

A lead's preview being opened is the commonest event and the least valuable one alone, so it
is not written in the request's transaction: the request hands it to this process's recorder,
which appends what gathered in one INSERT every `interval` seconds (or sooner, once `batch`
are waiting), and on shutdown. A process killed between two flushes loses at most that
interval's views; holds, purchases and returns are written with the change they record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.events import repository
from aiqleads.models.enums import EventKind

log = logging.getLogger(__name__)


class ViewRecorder:
    """One process's buffer of view events and the task that flushes it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval: float = 1.0,
        batch: int = 500,
    ) -> None:
        self._sessions = sessions
        self._interval = interval
        self._batch = batch
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def view(self, *, account_id: int, lead_id: int, at: datetime) -> None:
        """Note one view; it reaches the event log at the next flush."""
        self._pending.append(
            repository.event(EventKind.VIEW, account_id=account_id, lead_id=lead_id, at=at)
        )
        if len(self._pending) >= self._batch:
            self._wake.set()

    async def flush(self) -> int:
        """Append every view noted so far; returns how many."""
        rows, self._pending = self._pending, []
        if not rows:
            return 0
        try:
            async with transaction(self._sessions) as session:
                await repository.append(session, rows)
        except Exception:
            # Views are best effort (see the module docstring); never let them fail a worker.
            log.exception("could not record views", extra={"views": len(rows)})
            return 0
        return len(rows)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()
            await self.flush()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="view-recorder")

    async def stop(self) -> None:
        """Stop the flushing task and write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
