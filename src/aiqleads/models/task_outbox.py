from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class TaskOutbox(Base):
    """A background task to run: written in the transaction of the work that asks for it, so it
    exists exactly when that work committed (the transactional outbox). Owned by
    `aiqleads.worker`.

    `pending`: waiting for `not_before`; the embedded runner claims and runs it, or the relay
    hands it to the broker (`queued`). A finished task's row is deleted. A task that failed
    `attempts` times past its retries stays as `dead`, with its last error, for an operator
    (`aiqleads tasks dead`, `aiqleads tasks retry ID`). `claimed_until` is a lease: a row claimed
    by a runner or relay that died is taken again once it has passed. `fencing_token` counts
    the row's claims: only the runner holding the latest one renews the lease or records a
    failure (migration 0042 says why).
    """

    __tablename__ = "task_outbox"
    __table_args__ = (
        Index("ix_task_outbox_due", "status", "not_before"),
        CheckConstraint("status IN ('pending', 'queued', 'dead')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    args: Mapped[list[Any]] = mapped_column(JSON)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: at once
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fencing_token: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(2000))
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
