"""Accounts, logins, tokens and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth import repository
from aiqleads.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from aiqleads.auth.principal import Principal
from aiqleads.auth.tokens import TokenError, TokenType, make_token, read_token
from aiqleads.config import Settings
from aiqleads.db.engine import side_transaction
from aiqleads.errors import (
    AppError,
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
)
from aiqleads.models import Account, ApiKey, RefreshToken
from aiqleads.models.enums import Role, Tier
from aiqleads.observability.metrics import LOGINS

API_KEY_PREFIX = "aiq_"
_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key: ApiKey
    secret: str  # shown once, never stored


def normalize_email(email: str) -> str:
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput("email", str(exc)) from exc


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password or not password.strip():
        raise InvalidInput("password", "must not start or end with spaces")


async def create_account(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: Role,
    tier: Tier,
    now: datetime,
    custom_cart_limit: int | None = None,
) -> Account:
    address = normalize_email(email)
    check_password_strength(password)
    if custom_cart_limit is not None and (custom_cart_limit < 1 or tier is not Tier.ENTERPRISE):
        raise InvalidInput("custom_cart_limit", "only enterprise accounts, and at least 1")
    if await repository.account_by_email(session, address) is not None:
        raise Conflict(f"an account with e-mail {address} exists")
    account = Account(
        public_id=uuid.uuid4(),
        email=address,
        password_hash=hash_password(password),
        role=role.value,
        tier=tier.value,
        custom_cart_limit=custom_cart_limit,
        is_active=True,
        failed_logins=0,
        created_at=now,
        updated_at=now,
    )
    # A concurrent registration of the same address fails on the unique e-mail at flush; the
    # IntegrityError handler answers 409.
    await repository.add(session, account)
    return account


async def authenticate(
    session: AsyncSession, settings: Settings, *, email: str, password: str, now: datetime
) -> Account:
    """Check a password login; count failures and lock the account after too many."""
    account = await repository.account_by_email(session, email.strip().lower())
    if account is None:
        verify_password(None, password)  # same work as a real check: no timing oracle
        LOGINS.labels("unknown_account").inc()
        raise Unauthorized("wrong e-mail or password")
    if account.locked_until is not None and account.locked_until > now:
        LOGINS.labels("locked").inc()
        retry = max(1, int((account.locked_until - now).total_seconds()))
        raise AppError(
            "account is locked after repeated failed logins",
            status=429,
            code=ErrorCode.ACCOUNT_LOCKED,
            detail={"retry_after_seconds": retry},
            headers={"Retry-After": str(retry)},
        )
    if not verify_password(account.password_hash, password):
        await _count_failed_login(session, settings, account.id, now)
        LOGINS.labels("wrong_password").inc()
        raise Unauthorized("wrong e-mail or password")
    if not account.is_active:
        LOGINS.labels("inactive").inc()
        raise Forbidden("account is deactivated")
    if account.failed_logins or account.locked_until:
        await repository.reset_failed_logins(session, account.id)
    LOGINS.labels("ok").inc()
    return account


async def _count_failed_login(
    session: AsyncSession, settings: Settings, account_id: int, now: datetime
) -> None:
    # In its own transaction: the request's one is rolled back when the 401 is raised.
    async with side_transaction(session) as own:
        await repository.record_failed_login(
            own,
            account_id,
            threshold=settings.lockout_threshold,
            lock_until=now + timedelta(minutes=settings.lockout_minutes),
        )


async def issue_tokens(
    session: AsyncSession, settings: Settings, account: Account, *, now: datetime
) -> TokenPair:
    access_ttl = timedelta(minutes=settings.access_token_minutes)
    access, _ = make_token(
        settings.secret_key,
        subject=str(account.public_id),
        token_type=TokenType.ACCESS,
        now=now,
        ttl=access_ttl,
    )
    refresh, claims = make_token(
        settings.secret_key,
        subject=str(account.public_id),
        token_type=TokenType.REFRESH,
        now=now,
        ttl=timedelta(days=settings.refresh_token_days),
    )
    await repository.add(
        session,
        RefreshToken(
            jti=claims.jti, account_id=account.id, issued_at=now, expires_at=claims.expires_at
        ),
    )
    return TokenPair(access, refresh, int(access_ttl.total_seconds()))


async def refresh_tokens(
    session: AsyncSession, settings: Settings, *, refresh_token: str, now: datetime
) -> TokenPair:
    """Rotate a refresh token. Presenting one that was already used revokes them all."""
    try:
        claims = read_token(settings.secret_key, refresh_token, expected=TokenType.REFRESH, now=now)
    except TokenError as exc:
        raise Unauthorized(f"invalid refresh token: {exc}") from exc
    stored = await repository.refresh_token_by_jti(session, claims.jti)
    if stored is None:
        raise Unauthorized("invalid refresh token: unknown")
    if stored.used_at is not None or stored.revoked_at is not None:
        # Replay of a rotated token: someone else may hold the family. Cut it off. (Checked
        # before this transaction writes anything, so the side transaction can take the lock.)
        async with side_transaction(session) as own:
            await repository.revoke_refresh_tokens(own, stored.account_id, now)
        raise Unauthorized("invalid refresh token: already used or revoked")
    if not await repository.use_refresh_token(session, claims.jti, now):
        # Lost a race with a concurrent refresh of the same token: no revocation, just refuse.
        raise Unauthorized("invalid refresh token: already used")
    account = await repository.account_by_id(session, stored.account_id)
    if account is None or not account.is_active:
        raise Unauthorized("account is no longer active")
    return await issue_tokens(session, settings, account, now=now)


async def principal_from_access_token(
    session: AsyncSession, settings: Settings, token: str, *, now: datetime
) -> Principal:
    try:
        claims = read_token(settings.secret_key, token, expected=TokenType.ACCESS, now=now)
        public_id = uuid.UUID(claims.subject)
    except (TokenError, ValueError) as exc:
        raise Unauthorized(f"invalid access token: {exc}") from exc
    account = await repository.account_by_public_id(session, public_id)
    if account is None or not account.is_active:
        raise Unauthorized("invalid access token: account is not active")
    return Principal.of(account)


def _hash_secret(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(
    session: AsyncSession, principal: Principal, *, name: str, now: datetime
) -> NewApiKey:
    if principal.tier is not Tier.ENTERPRISE and not principal.is_admin:
        raise Forbidden("API keys are for enterprise accounts")
    if principal.via_api_key:
        raise Forbidden("an API key cannot create API keys; log in with a password")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("name", "must be 1 to 100 characters")
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        account_id=principal.account_id,
        prefix=prefix,
        secret_hash=_hash_secret(secret),
        name=name,
        created_at=now,
    )
    await repository.add(session, key)
    return NewApiKey(key, secret)


async def revoke_api_key(
    session: AsyncSession, principal: Principal, *, prefix: str, now: datetime
) -> ApiKey:
    key = await repository.api_key_by_prefix(session, prefix)
    if key is None or (key.account_id != principal.account_id and not principal.is_admin):
        raise NotFound("no such API key")
    if key.revoked_at is None:
        key.revoked_at = now
        await session.flush()
    return key


async def principal_from_api_key(session: AsyncSession, secret: str, *, now: datetime) -> Principal:
    body = secret.removeprefix(API_KEY_PREFIX)
    prefix, sep, _ = body.partition("_")
    if not secret.startswith(API_KEY_PREFIX) or not sep or len(prefix) != 10:
        raise Unauthorized("invalid API key")
    key = await repository.api_key_by_prefix(session, prefix)
    if key is None or not hmac.compare_digest(key.secret_hash, _hash_secret(secret)):
        raise Unauthorized("invalid API key")
    if key.revoked_at is not None:
        raise Unauthorized("API key has been revoked")
    account = await repository.account_by_id(session, key.account_id)
    if account is None or not account.is_active:
        raise Unauthorized("invalid API key: account is not active")
    if account.tier != Tier.ENTERPRISE and account.role != Role.ADMIN:
        raise Forbidden("API keys work only for enterprise accounts")
    await repository.touch_api_key(session, key.id, now)
    return Principal.of(account, via_api_key=True)
