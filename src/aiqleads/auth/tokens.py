"""Signed JWT access and refresh tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

import jwt

ALGORITHM = "HS256"
ISSUER = "aiqleads"


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


class TokenError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str  # the account's public id
    token_type: TokenType
    jti: str
    expires_at: datetime
    version: int = 0  # the account's token version when issued ("ver"; access tokens)


def make_token(
    secret: str,
    *,
    subject: str,
    token_type: TokenType,
    now: datetime,
    ttl: timedelta,
    version: int = 0,
) -> tuple[str, TokenClaims]:
    jti = secrets.token_urlsafe(24)
    claims = TokenClaims(subject, token_type, jti, now + ttl, version)
    payload: dict[str, Any] = {
        "sub": subject,
        "typ": token_type.value,
        "jti": jti,
        "iss": ISSUER,
        "iat": int(now.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
        "ver": version,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM), claims


# Tokens whose signature and issuer were checked, kept per process. Checking is a pure
# function of the secret and the token's bytes, and cost about 65 µs of an authenticated
# request's CPU; what can change (expiry, the token's type, the account's version) is checked at
# every use. Only tokens this service signed get in, so the bound is on honest clients.
_VERIFIED_MAX = 4096


@lru_cache(maxsize=_VERIFIED_MAX)
def _verified_claims(secret: str, token: str) -> tuple[str, str, str, int, object]:
    """(sub, typ, jti, exp, ver) of a token signed with `secret` by ISSUER. Raises TokenError
    when it is malformed, its signature is wrong or a claim is missing (nothing is kept)."""
    try:
        # Expiry is checked against our clock by the caller, not the wall clock, so tests can
        # move time. Nor is "iat" checked (PyJWT refuses a token issued after its own wall
        # clock's now): a token minted by a host whose clock runs a second ahead was refused
        # by the others until their clocks caught up.
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "require": ["sub", "typ", "jti", "exp"],
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenError("token is malformed or its signature is wrong") from exc
    try:
        exp = int(payload["exp"])
    except (TypeError, ValueError) as exc:
        raise TokenError("token expiry is not a number") from exc
    return str(payload["sub"]), str(payload["typ"]), str(payload["jti"]), exp, payload.get("ver", 0)


def read_token(secret: str, token: str, *, expected: TokenType, now: datetime) -> TokenClaims:
    """The claims of `token` if it is a valid, unexpired `expected` token at `now`. Raises
    TokenError (malformed, wrong signature or issuer, wrong type, expired, bad version)."""
    subject, token_type, jti, exp, version = _verified_claims(secret, token)
    if token_type != expected.value:
        raise TokenError(f"not an {expected.value} token")
    if not isinstance(version, int):
        raise TokenError("token version is not an integer")
    if exp <= now.timestamp():
        raise TokenError("token has expired")
    return TokenClaims(
        subject=subject,
        token_type=expected,
        jti=jti,
        expires_at=datetime.fromtimestamp(exp, tz=now.tzinfo),
        version=version,
    )
