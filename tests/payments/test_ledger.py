"""The ledger: append-only rows and the allowed transitions, enforced in code and by the
database itself."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.models.enums import LedgerKind, LedgerState
from aiqleads.payments import ledger
from tests.factories import make_payment_movement


async def test_states_follow_the_allowed_transitions_and_repeat_as_no_ops(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    mv = await make_payment_movement(sessions, now=clock.now())
    async with transaction(sessions) as session:
        with pytest.raises(ledger.InvalidTransition):
            await ledger.record(session, mv, LedgerState.COMPLETED, now=clock.now())
        assert await ledger.record(session, mv, LedgerState.PENDING, now=clock.now())
        assert await ledger.record(session, mv, LedgerState.COMPLETED, now=clock.now())
        assert not await ledger.record(session, mv, LedgerState.COMPLETED, now=clock.now())
        with pytest.raises(ledger.InvalidTransition):
            await ledger.record(session, mv, LedgerState.FAILED, now=clock.now())
        assert await ledger.record(session, mv, LedgerState.REFUNDED, now=clock.now())
        with pytest.raises(ledger.InvalidTransition):
            await ledger.record(session, mv, LedgerState.PENDING, now=clock.now())
        assert await ledger.state_of(session, mv.txn) is LedgerState.REFUNDED


async def test_record_all_moves_in_order_with_one_read_and_skips_repeats(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a payment with no row yet
    mv = await make_payment_movement(sessions, now=clock.now())
    steps = [
        (mv, LedgerState.PENDING),
        (mv, LedgerState.COMPLETED),
        (mv, LedgerState.COMPLETED),
    ]
    async with transaction(sessions) as session:
        # When pending, completed and completed again are recorded together
        appended = await ledger.record_all(session, steps, now=clock.now())
        # Then two rows are appended, in order, and the repeat is a no-op
        assert appended == 2
        assert [r["state"] for r in await ledger.rows_of(session, mv.txn)] == [
            "pending",
            "completed",
        ]
        # And a batch with a move not allowed appends nothing, not even its allowed steps
        order = ledger.Movement(
            kind=LedgerKind.ORDER,
            txn=ledger.order_txn(1),
            account_id=mv.account_id,
            amount_cents=1500,
            currency="USD",
            gateway="sandbox",
        )
        bad = [(order, LedgerState.PENDING), (mv, LedgerState.FAILED)]
        with pytest.raises(ledger.InvalidTransition, match="completed"):
            await ledger.record_all(session, bad, now=clock.now())
        assert await ledger.state_of(session, order.txn) is None


async def test_begin_appends_the_pending_row_of_a_new_transaction(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    mv = await make_payment_movement(sessions, now=clock.now())
    async with transaction(sessions) as session:
        await ledger.begin(session, mv, now=clock.now())
        assert await ledger.state_of(session, mv.txn) is LedgerState.PENDING
        assert await ledger.record(session, mv, LedgerState.COMPLETED, now=clock.now())


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_entries SET amount_cents = 1",
        "DELETE FROM ledger_entries",
        "INSERT INTO ledger_entries (kind, txn, state, account_id, amount_cents, currency,"
        " gateway, recorded_at) SELECT kind, txn, 'failed', account_id, amount_cents, currency,"
        " gateway, recorded_at FROM ledger_entries",
    ],
    ids=["update", "delete", "completed-to-failed"],
)
async def test_the_database_refuses_to_rewrite_the_ledger(
    sql: str, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a completed payment in the ledger
    mv = await make_payment_movement(sessions, now=clock.now())
    async with transaction(sessions) as session:
        await ledger.record(session, mv, LedgerState.PENDING, now=clock.now())
        await ledger.record(session, mv, LedgerState.COMPLETED, now=clock.now())
    # When anything but an allowed append is tried behind the code's back, it is refused
    with pytest.raises((IntegrityError, DBAPIError)):
        async with transaction(sessions) as session:
            await session.execute(text(sql))
    async with sessions() as session:
        assert await ledger.state_of(session, mv.txn) is LedgerState.COMPLETED
        assert len(await ledger.rows_of(session, mv.txn)) == 2
