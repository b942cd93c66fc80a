"""All SQL of purchases and returns: the one writer of both tables.

Checkout records sales with `add_purchases`; everything after it (the buyer's list, the CRM
export, returns) reads here. Leads are read (joined to their purchase) but never written: a
returned lead changes status through `leads.writes`.

Pages are keyset pages: the rows after a position (time, row id) in a fixed order, plus one
row, so the caller knows whether there is a next page.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    and_,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.models import Account, Lead, LeadReturn, Order, Purchase
from aiqleads.models.enums import ReturnStatus

purchases = cast(Table, Purchase.__table__)
returns = cast(Table, LeadReturn.__table__)
leads = cast(Table, Lead.__table__)
orders = cast(Table, Order.__table__)
accounts = cast(Table, Account.__table__)

# Returns that block another one for the same purchase (the partial unique index of 0011).
OPEN = (ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.REFUNDED)

Position = tuple[datetime, int]


async def add_purchases(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record several sales at once: {lead_id, account_id, order_id, price_cents, currency,
    purchased_at} each. Raises IntegrityError when any lead was sold already (the unique
    lead), recording none."""
    if rows:
        await session.execute(purchases.insert(), [dict(r) for r in rows])


# --- purchases ------------------------------------------------------------------------------


def _after(at_column: Any, id_column: Any, after: Position, *, descending: bool) -> Any:
    at, row_id = after
    if descending:
        return or_(at_column < at, and_(at_column == at, id_column < row_id))
    return or_(at_column > at, and_(at_column == at, id_column > row_id))


def _latest_return(column: str) -> Any:
    return (
        select(returns.c[column])
        .where(returns.c.purchase_id == purchases.c.id)
        .order_by(returns.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _refunded() -> ColumnElement[bool]:
    return exists().where(
        returns.c.purchase_id == purchases.c.id,
        returns.c.status == ReturnStatus.REFUNDED.value,
    )


def _purchases_select() -> Select[Any]:
    """Each purchase's lead (every column, as `leads.present.full` reads them) with the
    purchase's own columns under names of their own."""
    buyer = accounts.alias("buyer")
    return (
        select(
            leads,
            purchases.c.id.label("purchase_id"),
            purchases.c.price_cents.label("paid_cents"),
            purchases.c.currency.label("paid_currency"),
            purchases.c.purchased_at,
            orders.c.public_id.label("order_public_id"),
            buyer.c.public_id.label("buyer_public_id"),
        )
        .select_from(purchases)
        .join(leads, leads.c.id == purchases.c.lead_id)
        .join(buyer, buyer.c.id == purchases.c.account_id)
        .outerjoin(orders, orders.c.id == purchases.c.order_id)
    )


async def purchases_page(
    session: AsyncSession,
    *,
    account_id: int | None,
    after: Position | None,
    limit: int,
    since: datetime | None = None,
    without_refunded: bool = False,
) -> Sequence[Row[Any]]:
    """Up to `limit` + 1 purchases, newest first (purchased_at, then id, descending), of one
    account (None: every account's), after `after`, bought at or after `since`;
    `without_refunded` leaves out purchases whose return was refunded. Each row carries the
    lead's columns, `purchase_id`, `paid_cents`, `paid_currency`, `purchased_at`,
    `order_public_id`, `buyer_public_id`, and `return_public_id` / `return_status` of its
    latest return (None without one)."""
    stmt = _purchases_select().add_columns(
        _latest_return("public_id").label("return_public_id"),
        _latest_return("status").label("return_status"),
    )
    if account_id is not None:
        stmt = stmt.where(purchases.c.account_id == account_id)
    if since is not None:
        stmt = stmt.where(purchases.c.purchased_at >= since)
    if without_refunded:
        stmt = stmt.where(~_refunded())
    if after is not None:
        stmt = stmt.where(_after(purchases.c.purchased_at, purchases.c.id, after, descending=True))
    stmt = stmt.order_by(purchases.c.purchased_at.desc(), purchases.c.id.desc()).limit(limit + 1)
    return (await session.execute(stmt)).all()


async def purchase_of_lead(
    session: AsyncSession, *, lead_public_id: uuid.UUID, account_id: int
) -> Row[Any] | None:
    """The account's purchase of the lead (id, lead_id, order_id, price_cents, currency,
    purchased_at), None when the account did not buy it (or no such lead exists)."""
    stmt: Select[Any] = (
        select(
            purchases.c.id,
            purchases.c.lead_id,
            purchases.c.order_id,
            purchases.c.price_cents,
            purchases.c.currency,
            purchases.c.purchased_at,
        )
        .join(leads, leads.c.id == purchases.c.lead_id)
        .where(leads.c.public_id == lead_public_id, purchases.c.account_id == account_id)
    )
    found: Row[Any] | None = (await session.execute(stmt)).first()
    return found


# --- returns ----------------------------------------------------------------------------------


async def open_return(session: AsyncSession, purchase_id: int) -> Row[Any] | None:
    """The purchase's return that is not rejected (at most one), or None."""
    stmt = select(returns).where(
        returns.c.purchase_id == purchase_id,
        returns.c.status.in_([s.value for s in OPEN]),
    )
    found: Row[Any] | None = (await session.execute(stmt)).first()
    return found


async def insert_return(
    session: AsyncSession,
    *,
    purchase_id: int,
    account_id: int,
    reason: str,
    note: str | None,
    amount_cents: int,
    currency: str,
    now: datetime,
) -> int:
    """A new requested return; returns its row id. Raises IntegrityError when the purchase has
    an open one already (a racing request filed it first)."""
    result = await session.execute(
        returns.insert()
        .values(
            public_id=uuid.uuid4(),
            purchase_id=purchase_id,
            account_id=account_id,
            status=ReturnStatus.REQUESTED.value,
            reason=reason,
            note=note,
            amount_cents=amount_cents,
            currency=currency,
            requested_at=now,
            updated_at=now,
        )
        .returning(returns.c.id)
    )
    return int(result.scalar_one())


def _returns_select() -> Select[Any]:
    """Each return with its purchase's lead and order, and the public ids answers name."""
    buyer = accounts.alias("buyer")
    return (
        select(
            returns,
            purchases.c.lead_id,
            purchases.c.order_id,
            purchases.c.purchased_at,
            leads.c.public_id.label("lead_public_id"),
            buyer.c.public_id.label("buyer_public_id"),
        )
        .select_from(returns)
        .join(purchases, purchases.c.id == returns.c.purchase_id)
        .join(leads, leads.c.id == purchases.c.lead_id)
        .join(buyer, buyer.c.id == returns.c.account_id)
    )


async def return_by_id(session: AsyncSession, return_id: int) -> Row[Any] | None:
    found: Row[Any] | None = (
        await session.execute(_returns_select().where(returns.c.id == return_id))
    ).first()
    return found


async def return_by_public_id(session: AsyncSession, public_id: uuid.UUID) -> Row[Any] | None:
    found: Row[Any] | None = (
        await session.execute(_returns_select().where(returns.c.public_id == public_id))
    ).first()
    return found


async def returns_page(
    session: AsyncSession,
    *,
    account_id: int | None,
    statuses: Sequence[ReturnStatus],
    after: Position | None,
    limit: int,
    descending: bool,
) -> Sequence[Row[Any]]:
    """Up to `limit` + 1 returns of one account (None: every account's) in `statuses` (empty:
    all), ordered by requested_at then id (`descending`: newest first), after `after`."""
    stmt = _returns_select()
    if account_id is not None:
        stmt = stmt.where(returns.c.account_id == account_id)
    if statuses:
        stmt = stmt.where(returns.c.status.in_([s.value for s in statuses]))
    if after is not None:
        stmt = stmt.where(
            _after(returns.c.requested_at, returns.c.id, after, descending=descending)
        )
    keys = (returns.c.requested_at, returns.c.id)
    stmt = stmt.order_by(*(k.desc() if descending else k.asc() for k in keys)).limit(limit + 1)
    rows: Sequence[Row[Any]] = (await session.execute(stmt)).all()
    return rows


async def approved_returns(session: AsyncSession, *, limit: int = 500) -> Sequence[int]:
    """Row ids of returns approved whose refund has not been recorded (oldest first)."""
    stmt = (
        select(returns.c.id)
        .where(returns.c.status == ReturnStatus.APPROVED.value)
        .order_by(returns.c.id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def claim_refund(
    session: AsyncSession, return_id: int, *, admin_id: int, now: datetime, lapsed: datetime
) -> bool:
    """Approve the return (requested → approved: decided now by `admin_id`) or take up an
    approved one, and claim its refund: if, and only if, no other approval claimed it after
    `lapsed`. One conditional UPDATE: of two approvals at once, exactly one claims it."""
    requested = returns.c.status == ReturnStatus.REQUESTED.value
    free = and_(
        returns.c.status == ReturnStatus.APPROVED.value,
        or_(returns.c.refund_claimed_at.is_(None), returns.c.refund_claimed_at <= lapsed),
    )
    stmt = (
        update(returns)
        .where(returns.c.id == return_id, or_(requested, free))
        .values(
            status=ReturnStatus.APPROVED.value,
            decided_at=func.coalesce(returns.c.decided_at, now),
            decided_by=func.coalesce(returns.c.decided_by, admin_id),
            refund_claimed_at=now,
            updated_at=now,
        )
    )
    return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def release_claim(session: AsyncSession, return_id: int) -> None:
    """Let the next approval retry an approved return's refund at once (this one failed)."""
    await session.execute(
        update(returns)
        .where(returns.c.id == return_id, returns.c.status == ReturnStatus.APPROVED.value)
        .values(refund_claimed_at=None)
    )


async def move_return(
    session: AsyncSession,
    return_id: int,
    *,
    to: ReturnStatus,
    only_from: Sequence[ReturnStatus],
    now: datetime,
    **values: Any,
) -> bool:
    """Move the return to `to` if, and only if, it is in one of `only_from`: one conditional
    UPDATE whose row count says whether this caller won (of two admins deciding at once, or two
    retries finishing one refund, exactly one moves it, on SQLite as on PostgreSQL)."""
    stmt = (
        update(returns)
        .where(returns.c.id == return_id, returns.c.status.in_([s.value for s in only_from]))
        .values(status=to.value, updated_at=now, **values)
    )
    return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]
