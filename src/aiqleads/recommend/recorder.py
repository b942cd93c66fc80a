"""Impressions (the served lists, by model version), written without slowing the request.

A served list's impression rows are handed to this process's recorder, which appends what
gathered in one INSERT every `interval` seconds (or sooner, once `batch` rows wait) and on
shutdown, as `aiqleads.experiments.recorder` does for exposures. Each row keeps the time the
list was served, so the online accuracy (`repository.outcomes`: events after `served_at`) reads
the same whenever it is written. A process killed between two flushes loses at most that
interval's impressions (counted in no version's outcomes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.batched import BatchedWriter
from aiqleads.observability import metrics
from aiqleads.recommend import repository


class ImpressionRecorder(BatchedWriter):
    """One process's buffer of impression rows and the task that flushes it; rows lost to a
    failed write are counted in aiq_recommendation_impressions_lost_total."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval: float = 1.0,
        batch: int = 500,
    ) -> None:
        super().__init__(
            sessions,
            repository.add_impressions,
            name="impression-recorder",
            interval=interval,
            batch=batch,
            on_loss=metrics.RECOMMENDATION_IMPRESSIONS_LOST.inc,
        )

    def served(
        self, account_id: int, lead_ids: Sequence[int], *, version: str, now: datetime
    ) -> None:
        """Note a list served to the agent at `now` (internal lead ids, in rank order)."""
        for row in repository.impression_rows(account_id, lead_ids, version=version, now=now):
            self.add(row)
