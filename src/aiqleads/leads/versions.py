"""Per-scope data versions: bumped by writers, read by caches to build their keys.

A bump is applied as the writer's transaction commits (a `before_commit` hook), not where the
write happens: every write to a metro's leads increments the same row, and a row lock taken
at the start of a long transaction (a bulk hold, a checkout) would make every other writer of
the metro wait for all of it. Held only from the moment of commit, the lock costs one UPDATE.
The version still moves in the writer's own transaction, so a cache never sees new data under
an old version.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from aiqleads.leads.filters import OUTSIDE_METROS
from aiqleads.models import DataVersion

versions = cast(Table, DataVersion.__table__)
_PENDING = "aiq.version_bumps"  # session.info: scope -> the latest write's time


async def bump(session: AsyncSession, scopes: Iterable[str | None], *, now: datetime) -> None:
    """Increment the version of each scope when the caller's transaction commits (once per
    scope per transaction, however many writes touched it); nothing if it rolls back."""
    pending: dict[str, datetime] = session.sync_session.info.setdefault(_PENDING, {})
    for scope in scopes:
        name = scope or OUTSIDE_METROS
        pending[name] = max(now, pending.get(name, now))


@event.listens_for(Session, "before_commit")
def _apply(session: Session) -> None:
    """Run the bumps a transaction asked for, in sorted order (two writers touching the same
    metros lock the rows in the same order and cannot deadlock). A savepoint's release fires
    this hook too: the bumps wait for the outermost commit, else the version rows would stay
    locked from the savepoint to the end of the transaction (a checkout's several leads)."""
    if session.in_nested_transaction():
        return
    pending: dict[str, datetime] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for name in sorted(pending):
        stmt = insert(versions).values(scope=name, version=1, updated_at=pending[name])
        stmt = stmt.on_conflict_do_update(
            index_elements=["scope"],
            set_={"version": versions.c.version + 1, "updated_at": pending[name]},
        )
        session.execute(stmt)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    # A savepoint rolled back keeps the transaction's bumps: one more bump than needed only
    # makes a cache miss once, one too few would serve stale data.
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)


async def current(session: AsyncSession, scope: str | None) -> int:
    version = await session.scalar(
        select(versions.c.version).where(versions.c.scope == (scope or OUTSIDE_METROS))
    )
    return int(version or 0)
