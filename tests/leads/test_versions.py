"""Data versions move once per committed transaction, never at a savepoint's release; a
transaction's last write of one lead bumps in its own statement on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import versions, writes
from aiqleads.leads.filters import OUTSIDE_METROS
from aiqleads.models import Lead
from tests.factories import insert_leads, lead_row, make_account


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
    rounds = 8
    for _ in range(rounds):
        async with sessions() as holder, sessions() as writer:
            await holder.execute(
                select(versions.versions)
                .where(versions.versions.c.scope == "seattle")
                .with_for_update()
            )
            if writer.get_bind().dialect.name == "postgresql":
                # A wait for a held row would fail here at once rather than hang the test.
                await writer.execute(text("SET LOCAL lock_timeout = '50ms'"))
            # When another writer of the metro commits meanwhile (each round every shard
            # that exists is held: the writer must pick one that does not, every time)
            await versions.bump(writer, ["seattle"], now=clock.now())
            await writer.commit()
            await holder.rollback()
    # Then it bumped another shard without waiting (SQLite, one writer at a time, keeps one),
    # and the version counts every bump
    async with sessions() as session:
        assert await versions.current(session, "seattle") == 1 + rounds
        shards = await session.scalar(
            select(func.count()).where(versions.versions.c.scope == "seattle")
        )
        assert shards == (1 + rounds if session.get_bind().dialect.name == "postgresql" else 1)


async def _a_lead_and_an_agent(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FrozenClock
) -> tuple[int, int, str]:
    """A stored lead, an agent: (lead id, account id, the lead's version scope)."""
    row = lead_row(settings, FieldCipher(settings.encryption_keys), now=clock.now())
    await insert_leads(sessions, [row], now=clock.now())
    account = await make_account(sessions, now=clock.now())
    async with sessions() as session:
        lead = (
            await session.execute(
                select(Lead.id, Lead.metro).where(Lead.public_id == row["public_id"])
            )
        ).one()
    return lead.id, account.id, lead.metro or OUTSIDE_METROS


async def _hold(session: AsyncSession, lead_id: int, account_id: int, clock: FrozenClock) -> bool:
    now = clock.now()
    return await writes.take_hold(
        session,
        lead_id,
        account_id=account_id,
        until=now + timedelta(minutes=15),
        now=now,
        visible_before=None,
        last_write=True,
    )


async def test_a_last_write_bumps_its_metro_once_in_its_own_statement(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FrozenClock
) -> None:
    # Given a stored lead (its metro's version moved as it was stored) and an agent
    lead_id, account_id, scope = await _a_lead_and_an_agent(sessions, settings, clock)
    async with sessions() as session:
        before = await versions.current(session, scope)
    postgres = settings.database_url.startswith("postgresql")
    # When the agent holds it, the transaction's last write, and then releases it so
    for move in ("hold", "release"):
        async with sessions() as session:
            if move == "hold":
                assert await _hold(session, lead_id, account_id, clock)
            else:
                assert await writes.release_hold(
                    session,
                    lead_id,
                    account_id=account_id,
                    now=clock.now(),
                    cause="release",
                    last_write=True,
                )
            # Then on PostgreSQL the version moved in the statement, nothing waits for the
            # commit; SQLite bumps at the commit as before
            assert (await versions.current(session, scope) == before + 1) is postgres
            assert bool(session.sync_session.info.get("aiq.version_bumps")) is not postgres
            await session.commit()
        # And once committed it moved once
        async with sessions() as session:
            assert await versions.current(session, scope) == before + 1
        before += 1


async def test_a_last_write_whose_shards_are_all_locked_bumps_at_the_commit(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FrozenClock
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("shards and row locks are PostgreSQL's")
    # Given a lead whose metro's every version shard another transaction holds locked
    lead_id, account_id, scope = await _a_lead_and_an_agent(sessions, settings, clock)
    async with sessions() as session:
        before = await versions.current(session, scope)
    async with sessions() as holder, sessions() as writer:
        await holder.execute(
            select(versions.versions).where(versions.versions.c.scope == scope).with_for_update()
        )
        # A wait for a held row would fail here at once rather than hang the test.
        await writer.execute(text("SET LOCAL lock_timeout = '50ms'"))
        # When an agent holds the lead meanwhile, as its transaction's last write
        assert await _hold(writer, lead_id, account_id, clock)
        # Then the bump waits for the commit (as `bump` does), which does not wait either
        assert writer.sync_session.info.get("aiq.version_bumps")
        await writer.commit()
        await holder.rollback()
    async with sessions() as session:
        assert await versions.current(session, scope) == before + 1


async def test_a_last_write_that_moves_nothing_bumps_and_locks_nothing(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FrozenClock
) -> None:
    # Given a lead another agent holds
    lead_id, account_id, scope = await _a_lead_and_an_agent(sessions, settings, clock)
    other = await make_account(sessions, now=clock.now())
    async with transaction(sessions) as session:
        assert await _hold(session, lead_id, other.id, clock)
    async with sessions() as session:
        before = await versions.current(session, scope)
    # When the agent tries to hold it
    async with sessions() as session:
        assert not await _hold(session, lead_id, account_id, clock)
        if settings.database_url.startswith("postgresql"):
            # Then no version shard is locked by it (another transaction takes each at once)
            async with sessions() as probe:
                await probe.execute(text("SET LOCAL lock_timeout = '50ms'"))
                await probe.execute(
                    select(versions.versions)
                    .where(versions.versions.c.scope == scope)
                    .with_for_update()
                )
                await probe.rollback()
        await session.commit()
    # And no version moved
    async with sessions() as session:
        assert await versions.current(session, scope) == before
