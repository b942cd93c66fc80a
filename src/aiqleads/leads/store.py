"""The SQL that writes leads in bulk: an idempotent upsert keyed on (source, source_ref)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Insert, Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.leads import versions
from aiqleads.models import Lead

leads = cast(Table, Lead.__table__)

# Written on insert only: identity, first sighting and marketplace state survive re-ingestion.
_INSERT_ONLY = {"id", "public_id", "first_seen_at", "published_at", "status"}


def _upsert(dialect: str, keep_when_null: Collection[str]) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(leads)
    updates = {
        c.name: (
            func.coalesce(stmt.excluded[c.name], c)
            if c.name in keep_when_null
            else stmt.excluded[c.name]
        )
        for c in leads.columns
        if c.name not in _INSERT_ONLY
    }
    return stmt.on_conflict_do_update(index_elements=["source", "source_ref"], set_=updates)


async def upsert_leads(
    session: AsyncSession,
    rows: Sequence[dict[str, Any]],
    *,
    now: datetime,
    keep_when_null: Collection[str] = (),
) -> None:
    """Insert new leads, update known ones, and bump the data version of every metro touched.

    Each row carries every column but `id` and `metro`; the metro is derived from the point.
    On update, a column named in `keep_when_null` keeps its stored value when the row's is None
    (a field another source filled in survives a source that does not give it).
    """
    if not rows:
        return
    prepared = [{**r, "metro": versions.scope_for(r["latitude"], r["longitude"])} for r in rows]
    dialect = session.get_bind().dialect.name
    await session.execute(_upsert(dialect, frozenset(keep_when_null)), prepared)
    await versions.bump(session, {r["metro"] for r in prepared}, now=now)
