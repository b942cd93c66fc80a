"""Exposures, written without slowing the request that served the list.

A served list's exposure is handed to this process's recorder, which appends what gathered in
one INSERT every `interval` seconds (or sooner, once `batch` are waiting) and on shutdown, as
`aiqleads.events.recorder` does for views. A process killed between two flushes loses at most
that interval's exposures: the report's counts are short by as much, in every variant alike.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.batched import BatchedWriter
from aiqleads.experiments import repository
from aiqleads.observability import metrics


class ExposureRecorder(BatchedWriter):
    """One process's buffer of exposure rows (`repository.exposure_row`) and the task that
    flushes it; rows lost to a failed write are counted in aiq_experiment_exposures_lost_total."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval: float = 1.0,
        batch: int = 500,
    ) -> None:
        super().__init__(
            sessions,
            repository.add_exposures,
            name="exposure-recorder",
            interval=interval,
            batch=batch,
            on_loss=metrics.EXPERIMENT_EXPOSURES_LOST.inc,
        )
