"""Signed JWT access and refresh tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
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


def read_token(secret: str, token: str, *, expected: TokenType, now: datetime) -> TokenClaims:
    try:
        # Expiry is checked against our clock below, not the wall clock, so tests can move time.
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"verify_exp": False, "require": ["sub", "typ", "jti", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenError("token is malformed or its signature is wrong") from exc
    if payload.get("typ") != expected.value:
        raise TokenError(f"not an {expected.value} token")
    exp = int(payload["exp"])
    version = payload.get("ver", 0)
    if not isinstance(version, int):
        raise TokenError("token version is not an integer")
    if exp <= now.timestamp():
        raise TokenError("token has expired")
    return TokenClaims(
        subject=str(payload["sub"]),
        token_type=expected,
        jti=str(payload["jti"]),
        expires_at=datetime.fromtimestamp(exp, tz=now.tzinfo),
        version=version,
    )
