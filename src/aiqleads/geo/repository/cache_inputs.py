"""What a geo cache key reads from the database: the data versions of the scopes an area
touches, the newest publication an agent's tier window lets through, and the latest hold to
have lapsed. All three come back from one statement: a cache hit costs one round trip."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.geo.repository.common import leads
from aiqleads.leads.status import OFFERED
from aiqleads.leads.versions import versions
from aiqleads.models.enums import LeadStatus


@dataclass(frozen=True, slots=True)
class KeyInputs:
    """`versions`: scope -> data version (0 for a scope never written); `edge`: see
    `key_inputs`, None without a cutoff or without a lead; `lapsed`: the latest lapsed hold."""

    versions: dict[str, int]
    edge: datetime | None
    lapsed: datetime | None


def _edges(cutoff: datetime) -> list[ScalarSelect[Any]]:
    # One max per status: each is a backward step on the (status, published_at) index.
    return [
        select(func.max(leads.c.published_at))
        .where(leads.c.status == s.value, leads.c.published_at <= cutoff)
        .scalar_subquery()
        for s in OFFERED
    ]


async def key_inputs(
    session: AsyncSession, scopes: Sequence[str], *, cutoff: datetime | None, now: datetime
) -> KeyInputs:
    """The database's part of a cache key, in one statement.

    * each scope's data version (leads.versions, bumped by every lead write);
    * with `cutoff` (an agent's priority window), the newest publication instant at or before
      it among offered leads: with the data unchanged, an agent's visible set is the same for
      every cutoff that gives the same edge, so a key holding it goes stale exactly when a
      lead leaves the window;
    * the latest `held_until` at or before `now` among leads still stored as held: it moves
      exactly when a hold lapses, which changes what readers see without any write.
    """
    ordered = list(scopes)
    version_of = [
        select(versions.c.version).where(versions.c.scope == s).scalar_subquery() for s in ordered
    ]
    edges = _edges(cutoff) if cutoff is not None else []
    lapsed = (
        select(func.max(leads.c.held_until))
        .where(leads.c.status == LeadStatus.HELD.value, leads.c.held_until <= now)
        .scalar_subquery()
    )
    row = (await session.execute(select(lapsed, *version_of, *edges))).one()
    found_versions = row[1 : 1 + len(ordered)]
    present = [e for e in row[1 + len(ordered) :] if e is not None]
    return KeyInputs(
        versions={s: int(v or 0) for s, v in zip(ordered, found_versions, strict=True)},
        edge=max(present) if present else None,
        lapsed=row[0],
    )
