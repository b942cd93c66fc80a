"""All SQL of the task outbox and the periodic schedule (tables `task_outbox`,
`task_schedule`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.models import TaskOutbox, TaskSchedule
from aiqleads.worker.wake import wake_after_commit

rows = cast(Table, TaskOutbox.__table__)
schedule = cast(Table, TaskSchedule.__table__)

PENDING, QUEUED, DEAD = "pending", "queued", "dead"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row as its runner holds it; `fencing_token` is the claim's (see `claim_due`)."""

    id: int
    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    attempts: int
    fencing_token: int


_CLAIMED = (
    rows.c.id,
    rows.c.task,
    rows.c.args,
    rows.c.kwargs,
    rows.c.attempts,
    rows.c.fencing_token,
)


def _claimed(got: Any) -> Claimed:
    return Claimed(got[0], got[1], list(got[2] or []), dict(got[3] or {}), got[4], got[5])


async def add(
    session: AsyncSession,
    task: str,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    *,
    not_before: datetime | None,
) -> int:
    """Insert a pending task in the session's transaction; wake the dispatcher at commit."""
    stmt = (
        insert(rows)
        .values(
            task=task,
            args=list(args),
            kwargs=kwargs,
            status=PENDING,
            attempts=0,
            not_before=not_before,
            created_at=datetime.now(UTC),  # when it was written, for operators only
        )
        .returning(rows.c.id)
    )
    row_id = int((await session.execute(stmt)).scalar_one())
    wake_after_commit(session)
    return row_id


def _due(now: datetime, statuses: Sequence[str]) -> Any:
    return and_(
        rows.c.status.in_(list(statuses)),
        or_(rows.c.not_before.is_(None), rows.c.not_before <= now),
        or_(rows.c.claimed_until.is_(None), rows.c.claimed_until <= now),
    )


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    until: datetime,
    limit: int,
    statuses: Sequence[str] = (PENDING,),
) -> list[Claimed]:
    """Claim up to `limit` due rows (oldest first) until `until`: each with one conditional
    UPDATE, so of several claimers racing for a row exactly one gets it. Each claim takes the
    row's next fencing token: a runner whose lease lapsed, and whose row another runner then
    claimed, can no longer renew the lease or record an outcome (`extend_claim`,
    `record_failure`)."""
    found = await session.execute(
        select(rows.c.id).where(_due(now, statuses)).order_by(rows.c.id).limit(limit)
    )
    out: list[Claimed] = []
    for (row_id,) in found.all():
        stmt = (
            update(rows)
            .where(rows.c.id == row_id, _due(now, statuses))
            .values(claimed_until=until, fencing_token=rows.c.fencing_token + 1)
            .returning(*_CLAIMED)
        )
        got = (await session.execute(stmt)).first()
        if got is not None:
            out.append(_claimed(got))
    return out


async def load(session: AsyncSession, row_id: int) -> Claimed | None:
    """A row that may still run (pending or queued), with its current claim's fencing token
    (a broker's message carries only the row's id), or None (done, or dead)."""
    got = (
        await session.execute(
            select(*_CLAIMED).where(rows.c.id == row_id, rows.c.status.in_([PENDING, QUEUED]))
        )
    ).first()
    return None if got is None else _claimed(got)


def _held(row_id: int, fencing_token: int) -> Any:
    return and_(rows.c.id == row_id, rows.c.fencing_token == fencing_token)


async def mark_queued(
    session: AsyncSession, row_id: int, *, fencing_token: int, until: datetime
) -> bool:
    """Handed to the broker: the broker owns it until `until` (then it is sent again). False,
    and nothing changed, when another claim has taken the row since `fencing_token`, or the row
    is gone or dead (a runner was quicker than this commit)."""
    moved = await session.execute(
        update(rows)
        # Not a dead row: a runner that took it from the broker before this commit may have
        # dead-lettered it already, under the same claim.
        .where(_held(row_id, fencing_token), rows.c.status.in_([PENDING, QUEUED]))
        .values(status=QUEUED, claimed_until=until)
        .returning(rows.c.id)
    )
    return moved.first() is not None


async def extend_claim(
    session: AsyncSession, row_id: int, *, fencing_token: int, until: datetime
) -> bool:
    """Keep a row its runner still runs claimed until `until`. False, and nothing changed, when
    the row is gone (done), dead, or claimed again since `fencing_token` (this runner's lease
    lapsed and another runner has it now)."""
    moved = await session.execute(
        update(rows)
        .where(_held(row_id, fencing_token), rows.c.status.in_([PENDING, QUEUED]))
        .values(claimed_until=until)
        .returning(rows.c.id)
    )
    return moved.first() is not None


async def finish(session: AsyncSession, row_id: int) -> None:
    """Delete a row whose task ran to its end. Whoever holds the claim: the work is done, and a
    runner that claimed the row since finds it gone at its own end."""
    await session.execute(delete(rows).where(rows.c.id == row_id))


async def record_failure(
    session: AsyncSession,
    row_id: int,
    *,
    fencing_token: int,
    error: str,
    now: datetime,
    retry_at: datetime | None,
    claimed_until: datetime | None = None,
) -> bool:
    """Count a failed run. `retry_at` None: dead (kept for an operator); else run again then
    (`claimed_until` keeps a queued row with the broker meanwhile). False, and nothing
    recorded, when the row is gone or claimed again since `fencing_token`: the runner holding
    the current claim records its own outcome."""
    values: dict[str, Any] = {"attempts": rows.c.attempts + 1, "last_error": error[:2000]}
    if retry_at is None:
        values.update(status=DEAD, failed_at=now, claimed_until=None)
    elif claimed_until is None:
        values.update(status=PENDING, not_before=retry_at, claimed_until=None)
    else:
        values.update(not_before=retry_at, claimed_until=claimed_until)
    moved = await session.execute(
        update(rows).where(_held(row_id, fencing_token)).values(**values).returning(rows.c.id)
    )
    return moved.first() is not None


@dataclass(frozen=True, slots=True)
class Dead:
    id: int
    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    attempts: int
    last_error: str | None
    failed_at: datetime | None


async def dead(session: AsyncSession, *, limit: int = 100) -> list[Dead]:
    """Dead-lettered tasks, most recent first."""
    found = await session.execute(
        select(
            rows.c.id,
            rows.c.task,
            rows.c.args,
            rows.c.kwargs,
            rows.c.attempts,
            rows.c.last_error,
            rows.c.failed_at,
        )
        .where(rows.c.status == DEAD)
        .order_by(rows.c.id.desc())
        .limit(limit)
    )
    return [Dead(*r) for r in found.all()]


async def revive(session: AsyncSession, row_id: int) -> bool:
    """A dead task back to pending with its attempts reset; False when no such dead task."""
    result = await session.execute(
        update(rows)
        .where(rows.c.id == row_id, rows.c.status == DEAD)
        .values(status=PENDING, attempts=0, not_before=None, claimed_until=None, failed_at=None)
        .returning(rows.c.id)
    )
    revived = result.first() is not None
    if revived:
        wake_after_commit(session)
    return revived


async def count(session: AsyncSession, *, status: str | None = None) -> int:
    stmt = select(func.count()).select_from(rows)
    if status is not None:
        stmt = stmt.where(rows.c.status == status)
    return int(await session.scalar(stmt) or 0)


async def advance_schedule(session: AsyncSession, name: str, *, slot: int, now: datetime) -> bool:
    """Move the task's schedule to `slot`; True when this call did (so it enqueues), False
    when this slot (or a later one) was already taken by some scheduler."""
    moved = await session.execute(
        update(schedule)
        .where(schedule.c.name == name, schedule.c.last_slot < slot)
        .values(last_slot=slot, enqueued_at=now)
        .returning(schedule.c.name)
    )
    if moved.first() is not None:
        return True
    dialect = session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    created = await session.execute(
        insert_(schedule)
        .values(name=name, last_slot=slot, enqueued_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(schedule.c.name)
    )
    return created.first() is not None
