"""What a geo cache key reads from the database: the data versions of the scopes an area
touches, and the newest publication an agent's tier window lets through."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.geo.repository.common import leads
from aiqleads.leads.status import OFFERED
from aiqleads.leads.versions import versions
from aiqleads.models.enums import LeadStatus


async def data_versions(session: AsyncSession, scopes: Sequence[str]) -> dict[str, int]:
    rows = await session.execute(
        select(versions.c.scope, versions.c.version).where(versions.c.scope.in_(list(scopes)))
    )
    found = {r.scope: int(r.version) for r in rows}
    return {s: found.get(s, 0) for s in scopes}


async def visible_edge(session: AsyncSession, cutoff: datetime) -> datetime | None:
    """The newest publication instant at or before `cutoff` among offered leads.

    With the data unchanged, an agent's visible set is the same for every cutoff that gives the
    same edge, so a cache key holding it goes stale exactly when a lead leaves its window. One
    max per status: each is a backward step on the (status, published_at) index.
    """
    edges = [
        select(func.max(leads.c.published_at))
        .where(leads.c.status == s.value, leads.c.published_at <= cutoff)
        .scalar_subquery()
        for s in OFFERED
    ]
    found = (await session.execute(select(*edges))).one()
    present = [e for e in found if e is not None]
    return max(present) if present else None


async def last_hold_expiry(session: AsyncSession, now: datetime) -> datetime | None:
    """The latest `held_until` at or before `now` among leads still stored as held: it moves
    exactly when a hold lapses, which changes what readers see without any write."""
    stmt = select(func.max(leads.c.held_until)).where(
        leads.c.status == LeadStatus.HELD.value, leads.c.held_until <= now
    )
    found: datetime | None = await session.scalar(stmt)
    return found
