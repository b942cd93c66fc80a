"""Rows written in batches (db.batched): stopping the writer lets the batch in flight commit,
on each database, and leaves no transaction behind it."""

from __future__ import annotations

import asyncio
import contextlib
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


async def _writing_slowly(
    sessions: async_sessionmaker[AsyncSession], lead_id: int, clock: FrozenClock, *, batch: int
) -> BatchedWriter:
    """A started writer whose database is slow to answer, returned once its first batch (of
    `batch` views) has been inserted and while its commit is still to come."""
    inserted = asyncio.Event()

    async def slow_append(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        await repository.append(session, rows)
        inserted.set()
        await asyncio.sleep(0.3)

    writer = BatchedWriter(sessions, slow_append, name="test-writer", interval=3600, batch=batch)
    writer.start()
    for _ in range(batch):  # the batch size: the task wakes and writes
        writer.add(_view(lead_id, clock))
    await asyncio.wait_for(inserted.wait(), timeout=30)
    return writer


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
    writer = await _writing_slowly(sessions, lead_id, clock, batch=2)
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


async def test_a_write_that_does_not_end_holds_stop_for_stop_seconds_and_is_counted_lost(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Given a writer whose statement does not return (a lock wait, a half-open socket)
    started = asyncio.Event()

    async def stuck(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        started.set()
        await asyncio.Event().wait()

    lost: list[int] = []
    writer = BatchedWriter(
        sessions, stuck, name="test-writer", interval=3600, batch=2, on_loss=lost.append
    )
    writer.start()
    writer.add({"n": 1})
    writer.add({"n": 2})
    await asyncio.wait_for(started.wait(), timeout=30)
    writer.add({"n": 3})  # noted after the batch left: its own write is stuck too
    # When the process stops: stop returns (a shutdown is not held without end)
    await asyncio.wait_for(writer.stop(stop_seconds=0.2), timeout=30)
    # Then both batches are counted as lost, none silently
    assert lost == [2, 1]


async def test_a_cancelled_stop_leaves_the_write_in_flight_to_commit(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given a writer whose batch is being written, slowly
    lead_id = await _lead_id(sessions, settings, cipher, clock.now())
    writer = await _writing_slowly(sessions, lead_id, clock, batch=1)
    writer.add(_view(lead_id, clock))
    # When whoever stops it is cancelled meanwhile (an embedder's shutdown timeout)
    stopping = asyncio.create_task(writer.stop())
    await asyncio.sleep(0)
    stopping.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await stopping
    # Then the write in flight is not cancelled with it, and a later stop ends the rest
    await writer.stop()
    assert await _count(sessions) == 2
