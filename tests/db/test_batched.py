"""Rows written in batches (db.batched): stopping the writer lets the batch in flight commit,
on each database, and leaves no transaction behind it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.batched import BatchedWriter
from aiqleads.events import repository
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead, LeadEvent
from aiqleads.models.enums import EventKind
from tests.factories import insert_leads, lead_row


async def _lead_id(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher, now: Any
) -> int:
    await insert_leads(sessions, [lead_row(settings, cipher, now=now)])
    async with sessions() as session:
        return (await session.execute(select(Lead.id))).scalar_one()


def _view(lead_id: int, clock: FrozenClock) -> dict[str, Any]:
    return repository.event(EventKind.VIEW, account_id=None, lead_id=lead_id, at=clock.now())


async def _count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(LeadEvent))).scalar_one()


async def test_stopping_lets_the_batch_in_flight_commit(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given a writer whose database is slow to answer: its batch's INSERT has run, and the
    # commit is still to come when the process is told to stop (a SIGTERM, the app's shutdown)
    lead_id = await _lead_id(sessions, settings, cipher, clock.now())
    inserted = asyncio.Event()

    async def slow_append(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        await repository.append(session, rows)
        inserted.set()
        await asyncio.sleep(0.3)

    writer = BatchedWriter(sessions, slow_append, name="test-writer", interval=3600, batch=2)
    writer.start()
    for _ in range(2):  # the batch size: the task wakes and writes
        writer.add(_view(lead_id, clock))
    await asyncio.wait_for(inserted.wait(), timeout=30)
    # And a row noted after the batch left
    writer.add(_view(lead_id, clock))
    # When it stops
    await writer.stop()
    # Then the batch in flight and the late row are written, none lost
    assert await _count(sessions) == 3
    # And no transaction is left open: on SQLite another connection takes the write lock at
    # once (an abandoned one would hold it until the process ends)
    if engine.dialect.name == "sqlite":
        async with engine.connect() as conn:
            await conn.execute(text("PRAGMA busy_timeout=0"))
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
            await conn.exec_driver_sql("ROLLBACK")


async def test_stopping_an_idle_writer_writes_what_is_left(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given a started writer that has not flushed yet
    lead_id = await _lead_id(sessions, settings, cipher, clock.now())
    writer = BatchedWriter(sessions, repository.append, name="test-writer", interval=3600)
    writer.start()
    writer.add(_view(lead_id, clock))
    # When it stops, twice (a second stop is harmless)
    await writer.stop()
    await writer.stop()
    # Then its row is written once
    assert await _count(sessions) == 1
