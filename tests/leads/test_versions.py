"""Data versions move once per committed transaction, never at a savepoint's release."""

from __future__ import annotations

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
