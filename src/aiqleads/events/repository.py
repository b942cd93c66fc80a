"""All SQL of the event log: appends, and reads for features and tests. Nothing here updates or
deletes an event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.models import LeadEvent
from aiqleads.models.enums import EventKind

events = cast(Table, LeadEvent.__table__)


def event(
    kind: EventKind,
    *,
    account_id: int | None,
    lead_id: int,
    at: datetime,
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One event row."""
    return {
        "kind": kind.value,
        "account_id": account_id,
        "lead_id": lead_id,
        "at": at,
        "data": dict(data) if data else None,
    }


async def append(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append events in the caller's transaction (an action and its event commit together)."""
    if rows:
        await session.execute(events.insert(), list(rows))


async def for_lead(session: AsyncSession, lead_id: int) -> list[tuple[str, int | None]]:
    """(kind, account id) of a lead's events, oldest first."""
    rows = await session.execute(
        select(events.c.kind, events.c.account_id)
        .where(events.c.lead_id == lead_id)
        .order_by(events.c.id)
    )
    return [(r.kind, r.account_id) for r in rows]


async def activity(
    session: AsyncSession, lead_ids: Select[Any], *, since: datetime, until: datetime
) -> tuple[dict[str, int], int]:
    """Events on the leads `lead_ids` (a SELECT of lead ids) with `since <= at < until`: the
    number of each kind, and how many distinct accounts held or bought any of them (the
    market's buying agents)."""
    window = (events.c.lead_id.in_(lead_ids), events.c.at >= since, events.c.at < until)
    rows = await session.execute(
        select(events.c.kind, func.count()).where(*window).group_by(events.c.kind)
    )
    counts = {str(kind): int(n) for kind, n in rows}
    buyers = await session.scalar(
        select(func.count(func.distinct(events.c.account_id))).where(
            *window,
            events.c.kind.in_([EventKind.HOLD.value, EventKind.PURCHASE.value]),
            events.c.account_id.is_not(None),
        )
    )
    return counts, int(buyers or 0)
