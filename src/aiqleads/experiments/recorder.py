"""Exposures, written without slowing the request that served the list.

A served list's exposure is handed to this process's recorder, which appends what gathered in
one INSERT every `interval` seconds (or sooner, once `batch` are waiting) and on shutdown, as
`aiqleads.events.recorder` does for views. A process killed between two flushes loses at most
that interval's exposures: the report's counts are short by as much, in every variant alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.experiments import repository
from aiqleads.observability import metrics

log = logging.getLogger(__name__)


class ExposureRecorder:
    """One process's buffer of exposure rows and the task that flushes it."""

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
        self._pending: list[Mapping[str, Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, row: Mapping[str, Any]) -> None:
        """Note one exposure row (`repository.exposure_row`); it is written at the next flush."""
        self._pending.append(row)
        if len(self._pending) >= self._batch:
            self._wake.set()

    async def flush(self) -> int:
        """Append every exposure noted so far; returns how many."""
        rows, self._pending = self._pending, []
        if not rows:
            return 0
        try:
            async with transaction(self._sessions) as session:
                await repository.add_exposures(session, rows)
        except Exception:
            # Best effort, as views are: never let it fail a worker; the loss is counted.
            log.exception("could not record exposures", extra={"exposures": len(rows)})
            metrics.EXPERIMENT_EXPOSURES_LOST.inc(len(rows))
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
            self._task = asyncio.create_task(self._run(), name="exposure-recorder")

    async def stop(self) -> None:
        """Stop the flushing task and write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
