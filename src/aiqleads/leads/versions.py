"""Per-scope data versions: bumped by writers, read by caches to build their keys.

A bump is applied as the writer's transaction commits (a `before_commit` hook), not where the
write happens: every write to a metro's leads increments the same row, and a row lock taken
at the start of a long transaction (a bulk hold, a checkout) would make every other writer of
the metro wait for all of it. Held only from the moment of commit, the lock costs one UPDATE.
The version still moves in the writer's own transaction, so a cache never sees new data under
an old version.

Even held only from the bump to the end of the commit, one row per metro made every hold,
release and sale of the metro queue on it (the bump and the COMMIT are two round trips, and a
busy process's event loop runs other requests between them): 275 ms of waiting per bump at 50
agents (bench/cart.py, 2026-12-01). So a scope's counter is kept in up to `SHARDS` rows and its
version is their sum: on PostgreSQL a writer bumps the first shard that no other transaction
has locked (`FOR UPDATE SKIP LOCKED`), and only when all are locked (or the scope is new) it
creates a shard that does not exist yet, chosen at random; so shards appear only as concurrency
asks for them.
The sum moves with every committed bump, as the single counter did. SQLite has one writer at a
time: it keeps shard 0 alone.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, Update, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from aiqleads.leads.filters import OUTSIDE_METROS
from aiqleads.models import DataVersion

versions = cast(Table, DataVersion.__table__)
_PENDING = "aiq.version_bumps"  # session.info: scope -> the latest write's time
_BUMPED = "aiq.version_bumped"  # session.info: this transaction bumps (at commit or in a write)
# Commits in this process that moved a version: what memos of versions read earlier compare
# (`geo.key_memo`), so that a process sees its own writes at once.
_generation = 0


def generation() -> int:
    """How many transactions of this process have committed a version bump so far."""
    return _generation


# At most this many rows per scope: more than the writers that commit at the same moment (two
# API workers with 20 connections each rarely have more than a few in their commits at once).
SHARDS = 16


async def bump(session: AsyncSession, scopes: Iterable[str | None], *, now: datetime) -> None:
    """Increment the version of each scope when the caller's transaction commits (once per
    scope per transaction, however many writes touched it); nothing if it rolls back."""
    pending: dict[str, datetime] = session.sync_session.info.setdefault(_PENDING, {})
    session.sync_session.info[_BUMPED] = True
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
    postgres = session.get_bind().dialect.name == "postgresql"
    for name in sorted(pending):
        if postgres and _bump_a_free_shard(session, name, pending[name]):
            continue
        # SQLite (one writer at a time: shard 0), or every shard locked, or a new scope.
        shard = _unused_shard(session, name) if postgres else 0
        insert: Any = postgresql.insert if postgres else sqlite.insert
        stmt = insert(versions).values(scope=name, shard=shard, version=1, updated_at=pending[name])
        stmt = stmt.on_conflict_do_update(
            index_elements=["scope", "shard"],
            set_={"version": versions.c.version + 1, "updated_at": pending[name]},
        )
        session.execute(stmt)


def _bump_a_free_shard(session: Session, scope: str, at: datetime) -> bool:
    """Increment the lowest shard of `scope` that no other transaction has locked; False when
    there is none (all locked, or none yet). The free shard is found and locked by an InitPlan
    (an uncorrelated subquery: run once) that skips locked rows instead of waiting for them."""
    return session.execute(_bumping_a_free_shard(scope, at)).first() is not None


def _bumping_a_free_shard(
    scope: str | ColumnElement[str], at: datetime | ColumnElement[Any]
) -> Update:
    """The UPDATE of the lowest shard of `scope` no other transaction has locked, RETURNING
    its number (no row when there is none)."""
    free = (
        select(versions.c.shard)
        .where(versions.c.scope == scope)
        .order_by(versions.c.shard)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(versions)
        .where(versions.c.scope == scope, versions.c.shard == free)
        .values(version=versions.c.version + 1, updated_at=at)
        .returning(versions.c.shard)
    )


def _unused_shard(session: Session, scope: str) -> int:
    """A shard number of `scope` with no row yet, chosen at random (so that writers arriving
    together seldom pick the same one); any number when all `SHARDS` exist. Every existing
    shard is locked when this is asked: picking one of them would wait for its holder's commit,
    which is what the shards exist to avoid."""
    existing = set(session.scalars(select(versions.c.shard).where(versions.c.scope == scope)))
    unused = [shard for shard in range(SHARDS) if shard not in existing]
    return random.choice(unused or range(SHARDS))


def bumping_in(metro: ColumnElement[str | None], *, at: datetime | ColumnElement[Any]) -> Update:
    """The UPDATE bumping the lowest free shard of a metro's scope, as `_bump_a_free_shard`
    does at commit, for a writer to run inside its own statement, on PostgreSQL. `metro` is
    the column of a selectable of at most one row (a CTE of that statement: the metro of the
    one row it moved, None for OUTSIDE_METROS); with no row nothing is bumped or locked. Its
    RETURNING (the shard) says whether it bumped; when not (every shard locked, or the scope
    new), `bump` as usual. For a transaction that writes nothing more before it commits: the
    shard stays locked from this statement to the commit, as a commit-time bump's does from
    its UPDATE to the COMMIT."""
    # One value (an InitPlan), NULL without a row: then no shard matches.
    name = select(func.coalesce(metro, OUTSIDE_METROS)).scalar_subquery()
    return _bumping_a_free_shard(name, at)


def bumped_in_statement(session: AsyncSession) -> None:
    """Record that a statement of the transaction bumped a version itself (`bumping_in`), so
    that its commit counts in `generation` as a commit-time bump does."""
    session.sync_session.info[_BUMPED] = True


@event.listens_for(Session, "after_commit")
def _count(session: Session) -> None:
    global _generation
    if session.info.pop(_BUMPED, False):
        _generation += 1


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    # A savepoint rolled back keeps the transaction's bumps: one more bump than needed only
    # makes a cache miss once, one too few would serve stale data.
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        session.info.pop(_BUMPED, None)


async def current(session: AsyncSession, scope: str | None) -> int:
    """The scope's version: the sum of its shards (0 for a scope never written)."""
    version = await session.scalar(
        select(func.sum(versions.c.version)).where(versions.c.scope == (scope or OUTSIDE_METROS))
    )
    return int(version or 0)
