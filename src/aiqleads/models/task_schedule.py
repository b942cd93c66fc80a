from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, UTCDateTime


class TaskSchedule(Base):
    """The last period each periodic task was enqueued for. A scheduler enqueues a task only
    when it moves `last_slot` forward with one conditional UPDATE, so any number of schedulers
    (API processes, worker hosts) enqueue each period once. Owned by `aiqleads.worker`."""

    __tablename__ = "task_schedule"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_slot: Mapped[int] = mapped_column(BigInteger)  # unix seconds // period
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime)
