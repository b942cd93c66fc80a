"""Behaviour inputs gathered from the event log, for one entity or many at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.events import repository as event_log
from aiqleads.features.behaviour import BehaviourParams, Event, behaviour_values
from aiqleads.features.repository import CHUNK


def age_hours(now: datetime, at: datetime) -> float:
    """Hours from `at` to `now` (the one conversion both paths use)."""
    return (now - at).total_seconds() / 3600.0


async def behaviour(
    session: AsyncSession,
    now: datetime,
    params: BehaviourParams,
    *,
    by: str,
    ids: Sequence[int] | None,
) -> dict[int, list[float]]:
    """Behaviour values per lead (`by="lead"`) or agent (`by="account"`) with an event in the
    horizon before `now`: of the given entities, or of every one when `ids` is None. Entities
    without events are absent (their values are `behaviour_values([], params)`)."""
    start = now - timedelta(hours=params.horizon_hours)
    rows: list[tuple[int, str, datetime, int | None, int]] = []
    if ids is None:
        rows = await event_log.since(session, start=start, end=now, by=by)
    else:
        ordered = sorted(set(ids))
        for i in range(0, len(ordered), CHUNK):
            part = ordered[i : i + CHUNK]
            rows += await event_log.since(
                session,
                start=start,
                end=now,
                by=by,
                lead_ids=part if by == "lead" else None,
                account_ids=part if by == "account" else None,
            )
    grouped: dict[int, list[Event]] = defaultdict(list)
    for entity, kind, at, account_id, lead_id in rows:
        other = account_id if by == "lead" else lead_id
        grouped[entity].append((kind, age_hours(now, at), other))
    return {entity: behaviour_values(events, params) for entity, events in grouped.items()}
