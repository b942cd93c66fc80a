"""The suite's own emptying between tests (tests/emptying.py): every row goes, the ledger's
included, and ids start again at 1, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.base import Base
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Account, Lead
from aiqleads.models.enums import LedgerState
from aiqleads.payments import ledger
from tests.emptying import empty_tables
from tests.factories import (
    insert_leads,
    lead_row,
    make_account,
    make_payment_movement,
    record_purchase,
)


async def _rows_per_table(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            table.name: int(await conn.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


async def _fill(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    """Accounts, leads (with their events and price history), a purchase and ledger rows."""
    buyer = await make_account(sessions, now=clock.now())
    rows = [lead_row(settings, cipher, now=clock.now(), source_ref=f"r{i}") for i in range(3)]
    await insert_leads(sessions, rows)
    await record_purchase(
        sessions, lead_public_id=rows[0]["public_id"], account=buyer, now=clock.now()
    )
    payment = await make_payment_movement(sessions, now=clock.now())  # of an account of its own
    async with transaction(sessions) as session:
        assert await ledger.record(session, payment, LedgerState.PENDING, now=clock.now())
        assert await ledger.record(session, payment, LedgerState.COMPLETED, now=clock.now())


async def test_every_row_goes_and_ids_start_again_at_one(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given tables a test filled, the append-only ledger among them
    await _fill(sessions, settings, cipher, clock)
    filled = {name for name, n in (await _rows_per_table(engine)).items() if n}
    assert {"accounts", "leads", "purchases", "ledger_entries"} <= filled
    # When they are emptied
    await empty_tables(engine)
    # Then no table holds a row
    assert not any((await _rows_per_table(engine)).values())
    # And the next rows get the ids a fresh database gives, the ledger's guard still in place
    await _fill(sessions, settings, cipher, clock)
    async with sessions() as session:
        assert await session.scalar(select(func.min(Account.id))) == 1
        assert await session.scalar(select(func.min(Lead.id))) == 1
    async with engine.connect() as conn:
        rows = await conn.scalar(text("SELECT count(*) FROM ledger_entries"))
    assert rows == 2
    with pytest.raises((IntegrityError, DBAPIError)):
        async with transaction(sessions) as session:
            await session.execute(text("DELETE FROM ledger_entries"))


async def test_emptying_empty_tables_changes_nothing(engine: AsyncEngine) -> None:
    # Given empty tables, When they are emptied twice, Then they stay empty
    await empty_tables(engine)
    await empty_tables(engine)
    assert not any((await _rows_per_table(engine)).values())
