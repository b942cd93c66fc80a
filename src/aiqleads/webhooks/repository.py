"""All SQL of webhooks: endpoints and deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.db import reencrypt as reencryption
from aiqleads.models import Account, WebhookDelivery, WebhookEndpoint
from aiqleads.models.enums import Role, Tier
from aiqleads.webhooks.schemas import DeliveryStatus

endpoints = cast(Table, WebhookEndpoint.__table__)
deliveries = cast(Table, WebhookDelivery.__table__)
accounts = cast(Table, Account.__table__)


async def add_endpoint(
    session: AsyncSession,
    *,
    account_id: int,
    url: str,
    event_types: list[str],
    secret_enc: str,
    now: datetime,
) -> Row[Any]:
    stmt = (
        insert(endpoints)
        .values(
            public_id=uuid.uuid4(),
            account_id=account_id,
            url=url,
            event_types=event_types,
            secret_enc=secret_enc,
            created_at=now,
        )
        .returning(endpoints)
    )
    row: Row[Any] = (await session.execute(stmt)).one()
    return row


async def endpoints_of(session: AsyncSession, account_id: int) -> Sequence[Row[Any]]:
    stmt = select(endpoints).where(endpoints.c.account_id == account_id).order_by(endpoints.c.id)
    return (await session.execute(stmt)).all()


async def count_endpoints(session: AsyncSession, account_id: int) -> int:
    stmt = select(func.count()).where(endpoints.c.account_id == account_id)
    return int(await session.scalar(stmt) or 0)


async def endpoint_id(session: AsyncSession, account_id: int, public_id: uuid.UUID) -> int | None:
    """The endpoint's row id, when it exists and belongs to the account."""
    stmt = select(endpoints.c.id).where(
        endpoints.c.public_id == public_id, endpoints.c.account_id == account_id
    )
    found = await session.scalar(stmt)
    return None if found is None else int(found)


async def delete_endpoint(session: AsyncSession, row_id: int) -> None:
    """The endpoint and, with it (ON DELETE CASCADE), its deliveries."""
    await session.execute(delete(deliveries).where(deliveries.c.endpoint_id == row_id))
    await session.execute(delete(endpoints).where(endpoints.c.id == row_id))


async def subscribed_endpoints(
    session: AsyncSession, account_id: int, event_type: str
) -> list[int]:
    """Ids of the account's endpoints subscribed to the event type, while the account may have
    webhooks (enterprise, or admin)."""
    stmt = (
        select(endpoints.c.id, endpoints.c.event_types)
        .join(accounts, accounts.c.id == endpoints.c.account_id)
        .where(
            endpoints.c.account_id == account_id,
            accounts.c.is_active.is_(True),
            or_(accounts.c.tier == Tier.ENTERPRISE.value, accounts.c.role == Role.ADMIN.value),
        )
        .order_by(endpoints.c.id)
    )
    return [r.id for r in await session.execute(stmt) if event_type in (r.event_types or [])]


async def add_delivery(
    session: AsyncSession,
    *,
    endpoint_id: int,
    event_id: str,
    event_type: str,
    body: str,
    now: datetime,
) -> int:
    stmt = (
        insert(deliveries)
        .values(
            public_id=uuid.uuid4(),
            endpoint_id=endpoint_id,
            event_id=event_id,
            event_type=event_type,
            body=body,
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .returning(deliveries.c.id)
    )
    return int((await session.execute(stmt)).scalar_one())


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one delivery attempt needs, read when it was claimed."""

    id: int
    public_id: uuid.UUID
    event_id: str
    event_type: str
    body: str
    attempts: int
    url: str
    secret_enc: str


async def claim(
    session: AsyncSession, delivery_id: int, *, now: datetime, until: datetime
) -> Attempt | None:
    """Take a pending delivery whose attempt is due, moving its next attempt to `until` (a lease:
    if this attempt never records its result, the delivery is due again then). None when it is
    not pending, not due, or claimed by someone else."""
    claimed = await session.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.status == DeliveryStatus.PENDING.value,
            deliveries.c.next_attempt_at <= now,
        )
        .values(next_attempt_at=until)
        .returning(deliveries.c.id)
    )
    if claimed.first() is None:
        return None
    stmt = (
        select(
            deliveries.c.id,
            deliveries.c.public_id,
            deliveries.c.event_id,
            deliveries.c.event_type,
            deliveries.c.body,
            deliveries.c.attempts,
            endpoints.c.url,
            endpoints.c.secret_enc,
        )
        .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
        .where(deliveries.c.id == delivery_id)
    )
    row = (await session.execute(stmt)).one()
    return Attempt(*row)


async def record_attempt(
    session: AsyncSession,
    delivery_id: int,
    *,
    status: DeliveryStatus,
    http_status: int | None,
    error: str | None,
    now: datetime,
    next_attempt_at: datetime | None,
) -> None:
    values: dict[str, Any] = {
        "attempts": deliveries.c.attempts + 1,
        "status": status.value,
        "last_status": http_status,
        "last_error": error[:500] if error else None,
        "next_attempt_at": next_attempt_at,
    }
    if status is DeliveryStatus.DELIVERED:
        values["delivered_at"] = now
    await session.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


async def deliveries_of(
    session: AsyncSession, endpoint_row_id: int, *, before_id: int | None, limit: int
) -> Sequence[Row[Any]]:
    """An endpoint's deliveries, newest first, below `before_id` when given."""
    stmt = select(deliveries).where(deliveries.c.endpoint_id == endpoint_row_id)
    if before_id is not None:
        stmt = stmt.where(deliveries.c.id < before_id)
    return (await session.execute(stmt.order_by(deliveries.c.id.desc()).limit(limit))).all()


async def reencrypt_secrets(
    session: AsyncSession, reencrypt: Callable[[Any], Any], *, after_id: int, limit: int
) -> reencryption.Page:
    """Rewrite the encrypted signing secret of up to `limit` endpoints after `after_id`."""
    table = cast(Table, WebhookEndpoint.__table__)
    return await reencryption.rewrite_page(
        session, table, ("secret_enc",), reencrypt, after_id=after_id, limit=limit
    )
