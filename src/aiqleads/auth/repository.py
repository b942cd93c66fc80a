"""All SQL for accounts, refresh tokens and API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.models import Account, ApiKey, RefreshToken


async def account_by_email(session: AsyncSession, email: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.email == email.lower()))


async def account_by_public_id(session: AsyncSession, public_id: uuid.UUID) -> Account | None:
    return await session.scalar(select(Account).where(Account.public_id == public_id))


async def account_by_id(session: AsyncSession, account_id: int) -> Account | None:
    return await session.get(Account, account_id)


async def list_accounts(session: AsyncSession) -> Sequence[Account]:
    return (await session.scalars(select(Account).order_by(Account.id))).all()


async def add(session: AsyncSession, row: Account | ApiKey | RefreshToken) -> None:
    session.add(row)
    await session.flush()


async def record_failed_login(
    session: AsyncSession, account_id: int, *, threshold: int, lock_until: datetime
) -> Account | None:
    """Count a failure atomically (two racing attempts both count) and lock at the threshold."""
    await session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(failed_logins=Account.failed_logins + 1)
    )
    await session.execute(
        update(Account)
        .where(Account.id == account_id, Account.failed_logins >= threshold)
        .values(locked_until=lock_until, failed_logins=0)
    )
    account = await session.get(Account, account_id)
    if account is not None:
        await session.refresh(account)
    return account


async def reset_failed_logins(session: AsyncSession, account_id: int) -> None:
    await session.execute(
        update(Account).where(Account.id == account_id).values(failed_logins=0, locked_until=None)
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
