"""All SQL of the event log: appends, and reads for features and tests. Nothing here updates or
deletes an event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
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


async def outcomes(
    session: AsyncSession, *, since: datetime, until: datetime
) -> list[tuple[int, str, datetime]]:
    """(lead id, kind, at) of every purchase and return event at or after `since` and before
    `until`, in time order: what the scoring labels are built from."""
    rows = await session.execute(
        select(events.c.lead_id, events.c.kind, events.c.at)
        .where(
            events.c.kind.in_([EventKind.PURCHASE.value, EventKind.RETURN.value]),
            events.c.at >= since,
            events.c.at < until,
        )
        .order_by(events.c.at, events.c.id)
    )
    return [(r.lead_id, r.kind, r.at) for r in rows]


async def leads_with_events(
    session: AsyncSession, *, since: datetime, until: datetime
) -> list[int]:
    """The ids of leads with any event in [since, until), ascending."""
    rows = await session.scalars(
        select(events.c.lead_id)
        .where(events.c.at >= since, events.c.at < until)
        .distinct()
        .order_by(events.c.lead_id)
    )
    return list(rows.all())
