"""Views, recorded without slowing the request that made them.

A lead's preview being opened is the commonest event and the least valuable one alone, so it
is not written in the request's transaction: the request hands it to this process's recorder,
which appends what gathered in one INSERT every `interval` seconds (or sooner, once `batch`
are waiting), and on shutdown. A process killed between two flushes loses at most that
interval's views; holds, purchases and returns are written with the change they record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.batched import BatchedWriter
from aiqleads.events import repository
from aiqleads.models.enums import EventKind


class ViewRecorder(BatchedWriter):
    """One process's buffer of view events and the task that flushes it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval: float = 1.0,
        batch: int = 500,
    ) -> None:
        super().__init__(
            sessions, repository.append, name="view-recorder", interval=interval, batch=batch
        )

    def view(self, *, account_id: int, lead_id: int, at: datetime) -> None:
        """Note one view; it reaches the event log at the next flush."""
        self.add(repository.event(EventKind.VIEW, account_id=account_id, lead_id=lead_id, at=at))
