"""All SQL of stored gateway events: each stored once, marked when processed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.models import PaymentEvent

events = cast(Table, PaymentEvent.__table__)


async def store(
    session: AsyncSession,
    *,
    gateway: str,
    event_id: str,
    type_: str,
    payment_reference: str | None,
    data: dict[str, Any],
    now: datetime,
) -> tuple[int, bool]:
    """The stored event's id, and whether it was processed before (a repeated delivery)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(events)
        .values(
            gateway=gateway,
            event_id=event_id,
            type=type_,
            payment_reference=payment_reference,
            data=data,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["gateway", "event_id"])
    )
    row = (
        await session.execute(
            select(events.c.id, events.c.processed_at).where(
                events.c.gateway == gateway, events.c.event_id == event_id
            )
        )
    ).one()
    return row.id, row.processed_at is not None


async def mark_processed(session: AsyncSession, event_row: int, *, now: datetime) -> None:
    await session.execute(
        update(events)
        .where(events.c.id == event_row, events.c.processed_at.is_(None))
        .values(processed_at=now)
    )
