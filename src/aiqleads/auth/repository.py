"""All SQL for accounts, refresh tokens and API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, case, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.db.row_reads import RowReader
from aiqleads.models import Account, ApiKey, LoginThrottle, RefreshToken


async def account_by_email(session: AsyncSession, email: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.email == email.lower()))


async def account_by_public_id(session: AsyncSession, public_id: uuid.UUID) -> Account | None:
    return await session.scalar(select(Account).where(Account.public_id == public_id))


# id, public_id, email, role, tier, custom_cart_limit, is_active, token_version
_PrincipalRow = Row[int, uuid.UUID, str, str, str, int | None, bool, int]


def _principal_select() -> Select[int, uuid.UUID, str, str, str, int | None, bool, int]:
    return select(
        Account.id,
        Account.public_id,
        Account.email,
        Account.role,
        Account.tier,
        Account.custom_cart_limit,
        Account.is_active,
        Account.token_version,
    )


_BY_PUBLIC_ID = _principal_select().where(Account.public_id == bindparam("public_id"))


async def principal_columns(rows: RowReader, public_id: uuid.UUID) -> Any | None:
    """What an access token's check and the principal need of the account, as one row read
    by key (`rows`: a request's `DriverRows`, or `SessionRows`), its columns in
    `_principal_select`'s order. None when unknown. (Every authenticated request whose
    account the process has not kept reads it.)"""
    return await rows.first(_BY_PUBLIC_ID, {"public_id": public_id})


async def principal_columns_by_id(session: AsyncSession, account_id: int) -> _PrincipalRow | None:
    """As `principal_columns`, by the account's row id (an API key's account)."""
    stmt = _principal_select().where(Account.id == account_id)
    return (await session.execute(stmt)).first()


# What `/auth/me` shows of an account, by its row id: built once, read on the driver.
_ACCOUNT_VIEW = select(
    Account.public_id,
    Account.email,
    Account.role,
    Account.tier,
    Account.custom_cart_limit,
    Account.created_at,
).where(Account.id == bindparam("account_id", type_=Account.__table__.c.id.type))


async def account_view(rows: RowReader, account_id: int) -> Any | None:
    """The columns an account's own view shows (public_id, email, role, tier,
    custom_cart_limit, created_at) as one row read by key (`rows`: a request's `DriverRows`,
    or `SessionRows`); None when no account has that id. Not the ORM object: loading the whole
    account (its password hash included) into a session cost `/auth/me` a third of its CPU."""
    return await rows.first(_ACCOUNT_VIEW, {"account_id": account_id})


async def account_by_id(session: AsyncSession, account_id: int) -> Account | None:
    return await session.get(Account, account_id)


async def list_accounts(session: AsyncSession) -> Sequence[Account]:
    return (await session.scalars(select(Account).order_by(Account.id))).all()


async def add(session: AsyncSession, row: Account | ApiKey | RefreshToken) -> None:
    session.add(row)
    await session.flush()


async def throttles(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> Sequence[LoginThrottle]:
    """The throttle rows of these (scope, key) pairs that exist."""
    if not keys:
        return []
    return (
        await session.scalars(
            select(LoginThrottle).where(
                or_(*(and_(LoginThrottle.scope == s, LoginThrottle.key == k) for s, k in keys))
            )
        )
    ).all()


async def count_failure(
    session: AsyncSession, scope: str, key: str, *, now: datetime, forget_before: datetime
) -> int:
    """Add one failure under (scope, key), starting again from 1 when the last one is older
    than `forget_before`; returns the count. Atomic: two racing failures both count (the
    increment is one UPDATE; a lost race to insert the row falls back to it)."""
    for _ in range(2):
        result = await session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.scope == scope, LoginThrottle.key == key)
            .values(
                failures=case(
                    (LoginThrottle.last_failed_at < forget_before, 1),
                    else_=LoginThrottle.failures + 1,
                ),
                last_failed_at=now,
            )
            .returning(LoginThrottle.failures)
        )
        count = result.scalar_one_or_none()
        if count is not None:
            return int(count)
        try:
            async with session.begin_nested():
                session.add(LoginThrottle(scope=scope, key=key, failures=1, last_failed_at=now))
            return 1
        except IntegrityError:
            continue  # a concurrent first failure inserted the row: count on it
    raise RuntimeError("login throttle row neither updated nor inserted")


async def block_until(session: AsyncSession, scope: str, key: str, until: datetime) -> None:
    await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.scope == scope, LoginThrottle.key == key)
        .values(blocked_until=until)
    )


async def forget_throttle(session: AsyncSession, scope: str, key: str) -> None:
    await session.execute(
        delete(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
    )


async def prune_throttles(session: AsyncSession, *, forget_before: datetime) -> int:
    """Delete rows whose last failure is older than `forget_before`; returns how many."""
    result = await session.execute(
        delete(LoginThrottle).where(LoginThrottle.last_failed_at < forget_before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def bump_token_version(session: AsyncSession, account_id: int) -> None:
    """End every access token issued to the account so far."""
    await session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(token_version=Account.token_version + 1)
    )


async def refresh_token_by_jti(session: AsyncSession, jti: str) -> RefreshToken | None:
    return await session.scalar(select(RefreshToken).where(RefreshToken.jti == jti))


async def use_refresh_token(session: AsyncSession, jti: str, now: datetime) -> bool:
    """Mark a refresh token used; False if it was used or revoked already (a replay)."""
    result = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.jti == jti,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def revoke_refresh_tokens(session: AsyncSession, account_id: int, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def api_key_by_prefix(session: AsyncSession, prefix: str) -> ApiKey | None:
    return await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))


async def api_keys_of(session: AsyncSession, account_id: int) -> Sequence[ApiKey]:
    return (
        await session.scalars(
            select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.id)
        )
    ).all()


async def touch_api_key(session: AsyncSession, key_id: int, now: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
