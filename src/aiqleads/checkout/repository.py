"""All SQL of orders and their items. (The purchases a paid order records are written by
`aiqleads.purchases.repository`, the one owner of that table.)"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, Update, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.models import Order, OrderItem
from aiqleads.models.enums import OrderStatus

orders = cast(Table, Order.__table__)
items = cast(Table, OrderItem.__table__)


async def create_order(
    session: AsyncSession,
    *,
    account_id: int,
    idempotency_key: str,
    gateway: str,
    payment_token: str | None,
    lines: Sequence[tuple[int, int, str]],
    now: datetime,
) -> Row[Any]:
    """A pending order of (lead id, price cents, currency) lines; returns its row."""
    currency = lines[0][2]
    result = await session.execute(
        orders.insert()
        .values(
            public_id=uuid.uuid4(),
            account_id=account_id,
            status=OrderStatus.PENDING.value,
            amount_cents=sum(cents for _, cents, _ in lines),
            currency=currency,
            idempotency_key=idempotency_key,
            gateway=gateway,
            payment_token=payment_token,
            created_at=now,
            updated_at=now,
        )
        .returning(*orders.c)
    )
    order = result.one()
    await session.execute(
        items.insert(),
        [
            {"order_id": order.id, "lead_id": lead, "price_cents": cents, "currency": cur}
            for lead, cents, cur in lines
        ],
    )
    return order


async def by_key(session: AsyncSession, account_id: int, key: str) -> Row[Any] | None:
    stmt = select(orders).where(orders.c.account_id == account_id, orders.c.idempotency_key == key)
    found: Row[Any] | None = (await session.execute(stmt)).first()
    return found


async def open_lines(
    session: AsyncSession, account_id: int, lead_ids: Collection[int]
) -> Sequence[Row[Any]]:
    """The account's orders still waiting for their payment's outcome (pending, or requiring
    action) that have a line for any of these leads: each order's columns and the line's
    `lead_id`, one row per such line, newest order first."""
    if not lead_ids:
        return []
    stmt = (
        # Driven by the account's few open orders, their lines found by order id (indexed).
        select(orders, items.c.lead_id)
        .join(items, items.c.order_id == orders.c.id)
        .where(
            orders.c.account_id == account_id,
            orders.c.status.in_([OrderStatus.PENDING.value, OrderStatus.REQUIRES_ACTION.value]),
            items.c.lead_id.in_(list(lead_ids)),
        )
        .order_by(orders.c.id.desc())
    )
    return (await session.execute(stmt)).all()


async def by_id(session: AsyncSession, order_id: int) -> Row[Any] | None:
    found: Row[Any] | None = (
        await session.execute(select(orders).where(orders.c.id == order_id))
    ).first()
    return found


async def by_public_id(session: AsyncSession, public_id: uuid.UUID) -> Row[Any] | None:
    found: Row[Any] | None = (
        await session.execute(select(orders).where(orders.c.public_id == public_id))
    ).first()
    return found


async def by_reference(session: AsyncSession, gateway: str, reference: str) -> Row[Any] | None:
    stmt = select(orders).where(
        orders.c.gateway == gateway, orders.c.payment_reference == reference
    )
    found: Row[Any] | None = (await session.execute(stmt)).first()
    return found


async def move(
    session: AsyncSession,
    order_id: int,
    *,
    to: OrderStatus,
    only_from: Sequence[OrderStatus],
    now: datetime,
    **values: Any,
) -> bool:
    """Move the order to `to` if, and only if, it is in one of `only_from` (one conditional
    UPDATE: of two finalisers of one order, exactly one moves it)."""
    extra = {"paid_at": now} if to is OrderStatus.PAID else {}
    stmt = (
        update(orders)
        .where(orders.c.id == order_id, orders.c.status.in_([s.value for s in only_from]))
        .values(status=to.value, updated_at=now, **extra, **values)
    )
    return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def set_reference(session: AsyncSession, order_id: int, reference: str) -> None:
    await session.execute(
        update(orders)
        .where(orders.c.id == order_id, orders.c.payment_reference.is_(None))
        .values(payment_reference=reference)
    )


async def lines(session: AsyncSession, order_id: int) -> Sequence[Row[Any]]:
    stmt = select(items).where(items.c.order_id == order_id).order_by(items.c.lead_id)
    return (await session.execute(stmt)).all()


def setting_outcomes(order_id: int, sold: Collection[int]) -> Update:
    """The UPDATE that marks every line of the order "sold" when its lead is in `sold`, else
    "lost" (for `db.bulk.execute_together`)."""
    outcome = case((items.c.lead_id.in_(list(sold)), "sold"), else_="lost")
    return update(items).where(items.c.order_id == order_id).values(outcome=outcome)


async def stale(
    session: AsyncSession, *, older_than: datetime, limit: int = 500
) -> Sequence[Row[Any]]:
    """Orders still waiting for their payment's outcome since before `older_than`."""
    stmt = (
        select(orders)
        .where(
            orders.c.status.in_([OrderStatus.PENDING.value, OrderStatus.REQUIRES_ACTION.value]),
            orders.c.created_at <= older_than,
        )
        .order_by(orders.c.id)
        .limit(limit)
    )
    return (await session.execute(stmt)).all()


async def of_account(session: AsyncSession, account_id: int, *, limit: int) -> Sequence[Row[Any]]:
    stmt = (
        select(orders)
        .where(orders.c.account_id == account_id)
        .order_by(orders.c.created_at.desc(), orders.c.id.desc())
        .limit(limit)
    )
    return (await session.execute(stmt)).all()


async def paid_orders(session: AsyncSession) -> Sequence[Row[Any]]:
    stmt = select(orders).where(orders.c.status == OrderStatus.PAID.value).order_by(orders.c.id)
    return (await session.execute(stmt)).all()
