"""All SQL of the event log: appends, and reads for features and tests. Nothing here updates or
deletes an event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Insert, Select, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.db import bulk
from aiqleads.models import LeadEvent
from aiqleads.models.enums import EventKind

events = cast(Table, LeadEvent.__table__)


def event(
    kind: EventKind,
    *,
    account_id: int | ColumnElement[Any] | None,
    lead_id: int | ColumnElement[Any],
    at: datetime | ColumnElement[Any],
    data: Mapping[str, Any] | ColumnElement[Any] | None = None,
) -> dict[str, Any]:
    """One event row. Each value but `kind` may be a named `bindparam()` (for a statement built
    once, its values bound at each execution: `appending_if`)."""
    return {
        "kind": kind.value,
        "account_id": account_id,
        "lead_id": lead_id,
        "at": at,
        "data": data if isinstance(data, ColumnElement) else dict(data) if data else None,
    }


async def append(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append events in the caller's transaction (an action and its event commit together)."""
    if rows:
        await session.execute(events.insert(), list(rows))


def appending(rows: Sequence[Mapping[str, Any]]) -> Insert:
    """The INSERT of `append` as one multi-row statement (for `db.bulk.execute_together`, so
    an action's event costs no round trip of its own). `rows` must not be empty."""
    if not rows:
        raise ValueError("no event to append")
    return events.insert().values([dict(r) for r in rows])


def appending_if(row: Mapping[str, Any], guard: ColumnElement[bool] | None) -> Insert:
    """The INSERT of one event, made only when `guard` holds (see `db.bulk.insert_if`): an
    action's event in the action's own statement."""
    return bulk.insert_if(events, row, guard)


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


async def since(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    lead_ids: Sequence[int] | None = None,
    account_ids: Sequence[int] | None = None,
    by: str = "lead",
) -> list[tuple[int, str, datetime, int | None, int]]:
    """(entity id, kind, at, account id, lead id) of the events with `start` < at <= `end`,
    ordered by entity then time, where the entity is the lead (`by="lead"`) or the agent
    (`by="account"`, events without an account left out). `lead_ids` / `account_ids` narrow
    it to those entities (one lead's or agent's events go through the (lead_id, at) and
    (account_id, at) indexes). Behaviour features read this."""
    if by not in ("lead", "account"):
        raise ValueError(f"by must be 'lead' or 'account', not {by!r}")
    entity = events.c.lead_id if by == "lead" else events.c.account_id
    stmt = select(entity, events.c.kind, events.c.at, events.c.account_id, events.c.lead_id).where(
        events.c.at > start, events.c.at <= end
    )
    if by == "account":
        stmt = stmt.where(events.c.account_id.is_not(None))
    if lead_ids is not None:
        stmt = stmt.where(events.c.lead_id.in_(list(lead_ids)))
    if account_ids is not None:
        stmt = stmt.where(events.c.account_id.in_(list(account_ids)))
    rows = await session.execute(stmt.order_by(entity, events.c.at, events.c.id))
    return [(int(r[0]), str(r[1]), r[2], r[3], int(r[4])) for r in rows]


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
