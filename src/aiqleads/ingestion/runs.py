"""The record of ingestion runs (`ingestion_runs`). This module is the table's one owner: the
pipeline calls `start`, `progress` after each committed batch and `finish` at the end (also on
failure); the operators' endpoints read through `list_runs` and `get`.

Each write is a short transaction of its own, apart from the batches' transactions: a failed
batch rolls back its records, never the record that the run failed.

How an operator tells a run's state: `succeeded` and `failed` have `finished_at` (a failure
with the error's class and message, and the counts of the batches committed before it). A run
still `running` is in progress or its process was killed (SIGKILL, a lost machine): a live run
moves `progress_at` after every batch it commits, so a `progress_at` that stopped moving, and no
process `pid` on `host`, mean it was killed. Its committed batches are kept; a rerun of the same
input completes it (as a new run).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.ingestion.summary import IngestSummary
from aiqleads.models import IngestionRun
from aiqleads.models.enums import RunOutcome
from aiqleads.observability.logging import redact

ERROR_MESSAGE_MAX = 2000
_COUNTS = ("documents", "read", "created", "updated", "unchanged", "merged", "quarantined")


def _counts(summary: IngestSummary) -> dict[str, Any]:
    """The summary's counts as stored: the very numbers `aiqleads ingest --json` prints."""
    data = summary.as_dict()
    return {
        **{name: data[name] for name in _COUNTS},
        "quarantined_by_reason": data["quarantined_by_reason"],
        "notes": data["notes"],
        "stages": data["stages"],
    }


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(class, message) of an error as a run records it: the class with its module (bare for
    built-ins), the message without a statement's parameters (they may hold a record's
    values), with e-mails and phone numbers redacted as in the logs, cut at 2,000 characters."""
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    if isinstance(exc, StatementError) and exc.orig is not None:
        message = f"{type(exc.orig).__name__}: {exc.orig}"
    else:
        message = str(exc)
    return name[:200], redact(message)[:ERROR_MESSAGE_MAX]


async def start(
    sessions: async_sessionmaker[AsyncSession], *, source: str, metro: str | None, at: datetime
) -> int:
    """Record a run of `source` starting at `at` (`running`, every count 0); its id."""
    run = IngestionRun(
        source=source[:32],
        metro=metro,
        outcome=RunOutcome.RUNNING,
        started_at=at,
        progress_at=at,
        host=socket.gethostname()[:255],
        pid=os.getpid(),
        **_counts(IngestSummary()),
    )
    async with transaction(sessions) as session:
        session.add(run)
        await session.flush()
        return run.id


async def progress(
    sessions: async_sessionmaker[AsyncSession], run_id: int, summary: IngestSummary, *, at: datetime
) -> None:
    """The counts of the batches committed so far, at `at`."""
    async with transaction(sessions) as session:
        await session.execute(
            update(IngestionRun)
            .where(IngestionRun.id == run_id)
            .values(progress_at=at, **_counts(summary))
        )


async def finish(
    sessions: async_sessionmaker[AsyncSession],
    run_id: int,
    summary: IngestSummary,
    *,
    at: datetime,
    error: BaseException | None = None,
) -> None:
    """The run's end at `at`: `succeeded` with the summary's counts, or `failed` with the
    counts committed before `error` and the error's class and message (`describe_error`)."""
    values: dict[str, Any] = {"progress_at": at, "finished_at": at, **_counts(summary)}
    if error is None:
        values["outcome"] = RunOutcome.SUCCEEDED
    else:
        error_class, error_message = describe_error(error)
        values.update(
            outcome=RunOutcome.FAILED, error_class=error_class, error_message=error_message
        )
    async with transaction(sessions) as session:
        await session.execute(
            update(IngestionRun).where(IngestionRun.id == run_id).values(**values)
        )


async def list_runs(
    session: AsyncSession,
    *,
    source: str | None = None,
    outcome: RunOutcome | None = None,
    limit: int,
    before: int | None = None,
) -> tuple[list[IngestionRun], int | None]:
    """Runs newest first (by id: ids grow with each start), of `source` and `outcome` when
    given, with ids below `before`; at most `limit` of them, and the `before` of the next page
    (None: there is none)."""
    stmt = select(IngestionRun).order_by(IngestionRun.id.desc()).limit(limit + 1)
    if source is not None:
        stmt = stmt.where(IngestionRun.source == source)
    if outcome is not None:
        stmt = stmt.where(IngestionRun.outcome == outcome)
    if before is not None:
        stmt = stmt.where(IngestionRun.id < before)
    rows = list((await session.scalars(stmt)).all())
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


async def get(session: AsyncSession, run_id: int) -> IngestionRun | None:
    return await session.get(IngestionRun, run_id)


def as_dict(run: IngestionRun) -> dict[str, Any]:
    """A run as the endpoints answer it; `seconds` from start to finish (None while running)."""
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    return {
        "id": run.id,
        "source": run.source,
        "metro": run.metro,
        "outcome": run.outcome,
        "started_at": run.started_at,
        "progress_at": run.progress_at,
        "finished_at": run.finished_at,
        "seconds": seconds,
        "host": run.host,
        "pid": run.pid,
        **{name: getattr(run, name) for name in _COUNTS},
        "quarantined_by_reason": run.quarantined_by_reason,
        "notes": run.notes,
        "stages": run.stages,
        "error_class": run.error_class,
        "error_message": run.error_message,
    }
