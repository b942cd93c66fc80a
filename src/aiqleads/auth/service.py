"""Accounts, logins, tokens and API keys."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import secrets
import string
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth import principal_cache, repository
from aiqleads.auth.passwords import hash_password_async, verify_password_async, weakness
from aiqleads.auth.principal import Principal
from aiqleads.auth.tokens import TokenError, TokenType, make_token, read_token
from aiqleads.config import Settings
from aiqleads.db.engine import side_transaction
from aiqleads.db.row_reads import RowReader
from aiqleads.errors import (
    AppError,
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
)
from aiqleads.kit.clock import as_utc
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


async def check_password_strength(password: str, *, email: str, min_score: int) -> None:
    """Raise InvalidInput("password", why) when the password is short or guessable (see
    `passwords.weakness`: zxcvbn's score under `min_score`, the e-mail counting as known)."""
    local = email.partition("@")[0]
    inputs = [email, local, *local.replace("_", ".").replace("-", ".").split(".")]
    why = await asyncio.to_thread(weakness, password, min_score=min_score, user_inputs=inputs)
    if why is not None:
        raise InvalidInput("password", why)


async def create_account(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: Role,
    tier: Tier,
    now: datetime,
    custom_cart_limit: int | None = None,
    min_score: int = 3,
) -> Account:
    """A new active account. Raises InvalidInput (e-mail, weak password per zxcvbn's
    `min_score`, cart limit) or Conflict when the e-mail has an account (registration is
    throttled per address, see docs/security.md)."""
    address = normalize_email(email)
    await check_password_strength(password, email=address, min_score=min_score)
    if custom_cart_limit is not None and (custom_cart_limit < 1 or tier is not Tier.ENTERPRISE):
        raise InvalidInput("custom_cart_limit", "only enterprise accounts, and at least 1")
    if await repository.account_by_email(session, address) is not None:
        raise Conflict("an account with this e-mail exists")
    account = Account(
        public_id=uuid.uuid4(),
        email=address,
        password_hash=await hash_password_async(password),
        role=role.value,
        tier=tier.value,
        custom_cart_limit=custom_cart_limit,
        is_active=True,
        token_version=0,
        created_at=now,
        updated_at=now,
    )
    # A concurrent registration of the same address fails on the unique e-mail at flush; the
    # IntegrityError handler answers 409.
    await repository.add(session, account)
    return account


def _throttle_key(settings: Settings, scope: str, name: str) -> str:
    # Keyed by HMAC under the secret key: the table holds neither e-mails nor addresses, and a
    # list of known e-mails cannot be hashed to read it.
    message = f"{scope}:{name}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def login_delay_seconds(failures: int, *, free: int, base: float, ceiling: float) -> float:
    """Seconds the next attempt must wait after `failures` failures in a row: none for the
    first `free`, then `base`, doubling with each further failure, at most `ceiling` (the
    exponential backoff of NIST SP 800-63B 5.2.2's "rate limiting", without a lockout)."""
    if failures <= free:
        return 0.0
    return float(min(ceiling, base * 2 ** min(failures - free - 1, 62)))


def _keys(settings: Settings, email: str, ip: str) -> list[tuple[str, str]]:
    return [
        ("account", _throttle_key(settings, "account", email)),
        ("ip", _throttle_key(settings, "ip", ip)),
    ]


async def _check_throttle(
    session: AsyncSession, keys: list[tuple[str, str]], now: datetime
) -> None:
    rows = await repository.throttles(session, keys)
    waits = [(r.blocked_until - now).total_seconds() for r in rows if r.blocked_until]
    wait = max(waits, default=0.0)
    if wait > 0:
        LOGINS.labels("throttled").inc()
        retry = max(1, math.ceil(wait))
        raise AppError(
            f"too many failed logins; retry in {retry} s",
            status=429,
            code=ErrorCode.LOGIN_THROTTLED,
            detail={"retry_after_seconds": retry},
            headers={"Retry-After": str(retry)},
        )


async def _count_failure(
    session: AsyncSession, settings: Settings, keys: list[tuple[str, str]], now: datetime
) -> None:
    login = settings.login
    forget_before = now - timedelta(minutes=login.forget_after_minutes)
    free = {"account": login.free_failures_per_account, "ip": login.free_failures_per_ip}
    # In its own transaction: the request's one is rolled back when the 401 is raised.
    async with side_transaction(session) as own:
        # Rows of names that stopped failing go here rather than in a sweeper: one indexed
        # DELETE, and the table stays the size of the last window's failures.
        await repository.prune_throttles(own, forget_before=forget_before)
        for scope, key in keys:
            failures = await repository.count_failure(
                own, scope, key, now=now, forget_before=forget_before
            )
            delay = login_delay_seconds(
                failures,
                free=free[scope],
                base=login.base_delay_seconds,
                ceiling=login.max_delay_seconds,
            )
            if delay:
                await repository.block_until(own, scope, key, now + timedelta(seconds=delay))


async def authenticate(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    now: datetime,
    client_ip: str = "unknown",
) -> Account:
    """Check a password login.

    Every failure, whatever its cause (no such account, wrong password, deactivated account),
    is the same 401 "wrong e-mail or password" after the same work (one argon2id verification
    in the hashing pool), and counts against the e-mail named and the client address. Past
    their free failures, attempts naming that e-mail or from that address wait a growing
    delay: a 429 `login_throttled` with Retry-After, given alike whether or not the e-mail has
    an account (see `login_delay_seconds`). A success forgets the e-mail's failures."""
    name = email.strip().lower()
    keys = _keys(settings, name, client_ip)
    await _check_throttle(session, keys, now)
    account = await repository.account_by_email(session, name)
    # Nothing written yet: end the transaction, so the request holds no connection while it
    # waits for the hashing pool, nor while the failure's side transaction takes one.
    await session.commit()
    matches = await verify_password_async(account.password_hash if account else None, password)
    if account is None or not matches or not account.is_active:
        await _count_failure(session, settings, keys, now)
        LOGINS.labels("failed").inc()
        raise Unauthorized("wrong e-mail or password")
    await repository.forget_throttle(session, *keys[0])
    LOGINS.labels("ok").inc()
    return account


async def set_active(
    session: AsyncSession, account: Account, *, active: bool, now: datetime
) -> None:
    """Activate or deactivate an account. Deactivation revokes every refresh token for good
    (reactivation does not bring them back) and ends every access token at once (the token
    version rises)."""
    if not active and account.is_active:
        await repository.revoke_refresh_tokens(session, account.id, now)
        await repository.bump_token_version(session, account.id)
        await session.refresh(account, ["token_version"])
    account.is_active = active
    account.updated_at = now
    await session.flush()
    principal_cache.account_changed()


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
        version=account.token_version,
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
        # Replay of a rotated token: someone else may hold the family. Cut it off, in a side
        # transaction (this one has written nothing: ended first, so the request never holds
        # two connections). The access tokens of the family end with it (the token version
        # rises).
        await session.commit()
        async with side_transaction(session) as own:
            await repository.revoke_refresh_tokens(own, stored.account_id, now)
            await repository.bump_token_version(own, stored.account_id)
        principal_cache.account_changed()
        raise Unauthorized("invalid refresh token: already used or revoked")
    if not await repository.use_refresh_token(session, claims.jti, now):
        # Lost a race with a concurrent refresh of the same token: no revocation, just refuse.
        raise Unauthorized("invalid refresh token: already used")
    account = await repository.account_by_id(session, stored.account_id)
    if account is None or not account.is_active:
        raise Unauthorized("account is no longer active")
    return await issue_tokens(session, settings, account, now=now)


async def principal_from_access_token(
    rows: RowReader, settings: Settings, token: str, *, now: datetime
) -> Principal:
    """The account a bearer access token names, its account read by key in `rows` (a
    request's `DriverRows` alongside its session, or `SessionRows`) unless this process kept
    it (`principal_cache`). Raises Unauthorized for a token that is invalid, expired, revoked
    (its token version behind the account's) or of an inactive or unknown account."""
    try:
        claims = read_token(settings.secret_key, token, expected=TokenType.ACCESS, now=now)
        public_id = uuid.UUID(claims.subject)
    except (TokenError, ValueError) as exc:
        raise Unauthorized(f"invalid access token: {exc}") from exc
    account = principal_cache.principals.get(public_id, now=now)
    if account is None:
        row = await repository.principal_columns(rows, public_id)
        if row is not None:
            account = principal_cache.AccountFacts(*row)
            principal_cache.principals.put(public_id, account, now=now)
    if account is None or not account.is_active:
        raise Unauthorized("invalid access token: account is not active")
    # The account's facts are at hand (read now, or at most the cache's time to live ago):
    # comparing the version costs nothing.
    if claims.version != account.token_version:
        raise Unauthorized("invalid access token: revoked")
    return Principal(
        account_id=account.id,
        public_id=account.public_id,
        email=account.email,
        role=Role(account.role),
        tier=Tier(account.tier),
        custom_cart_limit=account.custom_cart_limit,
    )


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
    # Ends at once here; in other processes within AIQ_AUTH_CACHE_SECONDS.
    principal_cache.api_keys.forget(prefix)
    return key


async def principal_from_api_key(session: AsyncSession, secret: str, *, now: datetime) -> Principal:
    """The principal of an API key (`aiq_` + 10-character prefix + `_` + secret). Raises
    Unauthorized for an unknown, wrong, revoked key or an inactive account, Forbidden when the
    account is no longer enterprise or admin. The key and its account are kept per process for
    AIQ_AUTH_CACHE_SECONDS (auth/principal_cache.py); its last use is written at most once a
    minute."""
    body = secret.removeprefix(API_KEY_PREFIX)
    prefix, sep, _ = body.partition("_")
    if not secret.startswith(API_KEY_PREFIX) or not sep or len(prefix) != 10:
        raise Unauthorized("invalid API key")
    facts = principal_cache.api_keys.get(prefix, now=now)
    if facts is None:
        key = await repository.api_key_by_prefix(session, prefix)
        if key is None:
            raise Unauthorized("invalid API key")
        row = await repository.principal_columns_by_id(session, key.account_id)
        facts = principal_cache.ApiKeyFacts(
            key_id=key.id,
            secret_hash=key.secret_hash,
            revoked=key.revoked_at is not None,
            account=principal_cache.AccountFacts(*row) if row is not None else None,
            last_used_at=key.last_used_at,
        )
        principal_cache.api_keys.put(prefix, facts, now=now)
    if not hmac.compare_digest(facts.secret_hash, _hash_secret(secret)):
        raise Unauthorized("invalid API key")
    if facts.revoked:
        raise Unauthorized("API key has been revoked")
    account = facts.account
    if account is None or not account.is_active:
        raise Unauthorized("invalid API key: account is not active")
    if account.tier != Tier.ENTERPRISE and account.role != Role.ADMIN:
        raise Forbidden("API keys work only for enterprise accounts")
    last = facts.last_used_at
    if last is None or now - as_utc(last) >= principal_cache.API_KEY_TOUCH_INTERVAL:
        await repository.touch_api_key(session, facts.key_id, now)
        principal_cache.api_keys.replace(prefix, replace(facts, last_used_at=now))
    return Principal(
        account_id=account.id,
        public_id=account.public_id,
        email=account.email,
        role=Role(account.role),
        tier=Tier(account.tier),
        custom_cart_limit=account.custom_cart_limit,
        via_api_key=True,
    )
