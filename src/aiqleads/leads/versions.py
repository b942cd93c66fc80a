"""Per-scope data versions: bumped by writers, read by caches to build their keys."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.leads.filters import OUTSIDE_METROS
from aiqleads.models import DataVersion

versions = cast(Table, DataVersion.__table__)


async def bump(session: AsyncSession, scopes: Iterable[str | None], *, now: datetime) -> None:
    """Increment the version of each scope, in the caller's transaction.

    Scopes are bumped in sorted order, so two writers touching the same metros lock the rows in
    the same order and cannot deadlock.
    """
    names = sorted({s or OUTSIDE_METROS for s in scopes})
    if not names:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for name in names:
        stmt = insert(versions).values(scope=name, version=1, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["scope"],
            set_={"version": versions.c.version + 1, "updated_at": now},
        )
        await session.execute(stmt)


async def current(session: AsyncSession, scope: str | None) -> int:
    version = await session.scalar(
        select(versions.c.version).where(versions.c.scope == (scope or OUTSIDE_METROS))
    )
    return int(version or 0)
