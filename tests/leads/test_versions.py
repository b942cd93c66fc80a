"""Data versions move once per committed transaction, never at a savepoint's release."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.kit.clock import FrozenClock
from aiqleads.leads import versions


async def test_a_bump_waits_for_the_outermost_commit(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a transaction that bumps a metro inside a savepoint that is released
    async with sessions() as session:
        savepoint = await session.begin_nested()
        await versions.bump(session, ["seattle"], now=clock.now())
        await savepoint.commit()
        # Then the version has not moved yet (no row lock held for the rest of it)
        assert await versions.current(session, "seattle") == 0
        # When the transaction commits
        await session.commit()
    # Then it moved once
    async with sessions() as session:
        assert await versions.current(session, "seattle") == 1


async def test_a_savepoint_rolled_back_keeps_the_transactions_bumps(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a bump, then a savepoint that rolls back
    async with sessions() as session:
        await versions.bump(session, ["seattle"], now=clock.now())
        savepoint = await session.begin_nested()
        await savepoint.rollback()
        # When the transaction commits
        await session.commit()
    # Then the bump made before the savepoint is applied
    async with sessions() as session:
        assert await versions.current(session, "seattle") == 1


async def test_a_rolled_back_transaction_bumps_nothing(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a bump in a transaction that rolls back
    async with sessions() as session:
        assert await versions.current(session, "seattle") == 0  # the transaction begins
        await versions.bump(session, ["seattle"], now=clock.now())
        await session.rollback()
        # When the same session commits a later transaction
        await session.commit()
    # Then nothing moved
    async with sessions() as session:
        assert await versions.current(session, "seattle") == 0


async def test_a_writer_does_not_wait_for_a_shard_another_transaction_holds(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a metro written once, and another transaction that holds its counter's row locked
    # (as a writer does from its bump to the end of its commit)
    async with sessions() as session:
        await versions.bump(session, ["seattle"], now=clock.now())
        await session.commit()
    async with sessions() as holder, sessions() as writer:
        await holder.execute(
            select(versions.versions)
            .where(versions.versions.c.scope == "seattle")
            .with_for_update()
        )
        if writer.get_bind().dialect.name == "postgresql":
            # A wait for the held row would fail here at once rather than hang the test.
            await writer.execute(text("SET LOCAL lock_timeout = '50ms'"))
        # When another writer of the metro commits meanwhile
        await versions.bump(writer, ["seattle"], now=clock.now())
        await writer.commit()
        await holder.rollback()
    # Then it bumped another shard without waiting (SQLite, one writer at a time, keeps one),
    # and the version counts both bumps
    async with sessions() as session:
        assert await versions.current(session, "seattle") == 2
        shards = await session.scalar(
            select(func.count()).where(versions.versions.c.scope == "seattle")
        )
        assert shards == (2 if session.get_bind().dialect.name == "postgresql" else 1)
