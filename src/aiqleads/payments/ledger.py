"""The ledger: every money movement as append-only rows (DESIGN.md section 2, Ledger).

A transaction is named by `txn` ("order:<order id>", "payment:<gateway reference>",
"refund:<gateway reference>") and moves pending → completed | failed, completed → refunded.
`record` appends the row of a state; recording a state the transaction is already in is a
no-op (a webhook and the synchronous answer may both report one payment), any other move is
refused by `InvalidTransition` here and, as a last guard, by the database's triggers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.models import LedgerEntry
from aiqleads.models.enums import LedgerKind, LedgerState

entries = cast(Table, LedgerEntry.__table__)

_NEXT: dict[LedgerState | None, tuple[LedgerState, ...]] = {
    None: (LedgerState.PENDING,),
    LedgerState.PENDING: (LedgerState.COMPLETED, LedgerState.FAILED),
    LedgerState.COMPLETED: (LedgerState.REFUNDED,),
    LedgerState.FAILED: (),
    LedgerState.REFUNDED: (),
}


class InvalidTransition(ValueError):
    """A ledger transaction cannot move from its state to the one asked."""


def order_txn(order_id: int) -> str:
    return f"order:{order_id}"


def payment_txn(reference: str) -> str:
    return f"payment:{reference}"


def refund_txn(reference: str) -> str:
    return f"refund:{reference}"


@dataclass(frozen=True, slots=True)
class Movement:
    """What a transaction moves: kind, who, how much, through which gateway and reference."""

    kind: LedgerKind
    txn: str
    account_id: int
    amount_cents: int
    currency: str
    gateway: str
    order_id: int | None = None
    gateway_reference: str | None = None


async def state_of(session: AsyncSession, txn: str) -> LedgerState | None:
    """The transaction's latest state, None when nothing is recorded."""
    found = await session.scalar(
        select(entries.c.state).where(entries.c.txn == txn).order_by(entries.c.id.desc()).limit(1)
    )
    return None if found is None else LedgerState(found)


async def record(
    session: AsyncSession, movement: Movement, state: LedgerState, *, now: datetime
) -> bool:
    """Append the row of `state`; False when the transaction is in that state already.
    Raises InvalidTransition for any move the ledger does not allow."""
    current = await state_of(session, movement.txn)
    if current is state:
        return False
    if state not in _NEXT[current]:
        raise InvalidTransition(f"{movement.txn}: {current} → {state} is not allowed")
    await session.execute(entries.insert().values(**_row(movement, state, now)))
    return True


async def begin(session: AsyncSession, movement: Movement, *, now: datetime) -> None:
    """Append the first row, pending, of a transaction named after a row this same database
    transaction created (an order just inserted): it can have no state yet, so none is read.
    The database's triggers still refuse any other first state."""
    await session.execute(entries.insert().values(**_row(movement, LedgerState.PENDING, now)))


async def record_all(
    session: AsyncSession, steps: Sequence[tuple[Movement, LedgerState]], *, now: datetime
) -> int:
    """`record` for several steps at once, in order (a transaction may move twice, pending then
    completed), with one read of the transactions' states and one insert; returns how many rows
    were appended. Raises InvalidTransition, appending nothing, for any move not allowed."""
    txns = list(dict.fromkeys(m.txn for m, _ in steps))
    latest = select(func.max(entries.c.id)).where(entries.c.txn.in_(txns)).group_by(entries.c.txn)
    found = await session.execute(
        select(entries.c.txn, entries.c.state).where(entries.c.id.in_(latest))
    )
    current: dict[str, LedgerState | None] = {r.txn: LedgerState(r.state) for r in found}
    rows = []
    for movement, state in steps:
        was = current.get(movement.txn)
        if was is state:
            continue
        if state not in _NEXT[was]:
            raise InvalidTransition(f"{movement.txn}: {was} → {state} is not allowed")
        current[movement.txn] = state
        rows.append(_row(movement, state, now))
    if rows:
        await session.execute(entries.insert(), rows)
    return len(rows)


def _row(movement: Movement, state: LedgerState, now: datetime) -> dict[str, Any]:
    return {
        "kind": movement.kind.value,
        "txn": movement.txn,
        "state": state.value,
        "order_id": movement.order_id,
        "account_id": movement.account_id,
        "amount_cents": movement.amount_cents,
        "currency": movement.currency,
        "gateway": movement.gateway,
        "gateway_reference": movement.gateway_reference,
        "recorded_at": now,
    }


async def settled(
    session: AsyncSession, kind: LedgerKind, *, order_id: int, states: Sequence[LedgerState]
) -> int:
    """The total amount, in cents, of an order's transactions of `kind` whose latest state is
    one of `states`."""
    latest = (
        select(entries.c.txn, func.max(entries.c.id).label("last"))
        .where(entries.c.order_id == order_id, entries.c.kind == kind.value)
        .group_by(entries.c.txn)
        .subquery()
    )
    stmt = select(func.coalesce(func.sum(entries.c.amount_cents), 0)).where(
        entries.c.id == latest.c.last, entries.c.state.in_([s.value for s in states])
    )
    return int(await session.scalar(stmt) or 0)


async def transactions(session: AsyncSession, order_id: int) -> list[dict[str, Any]]:
    """Every row of an order's transactions, in the order recorded (for reports and tests)."""
    rows = await session.execute(
        select(entries).where(entries.c.order_id == order_id).order_by(entries.c.id)
    )
    return [dict(r._mapping) for r in rows]


async def rows_of(session: AsyncSession, txn: str) -> list[dict[str, Any]]:
    """A transaction's rows, in the order recorded."""
    rows = await session.execute(select(entries).where(entries.c.txn == txn).order_by(entries.c.id))
    return [dict(r._mapping) for r in rows]
