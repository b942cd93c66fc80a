"""Access and refresh tokens: what `read_token` accepts, including a token whose signature was
checked before (kept per process, `tokens._verified_claims`): what can change is checked at
every use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from aiqleads.auth import tokens
from aiqleads.auth.tokens import TokenError, TokenType, make_token, read_token

SECRET = "s" * 40
T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def access_token(*, ttl: timedelta = timedelta(minutes=15), secret: str = SECRET) -> str:
    token, _ = make_token(
        secret, subject="acct-1", token_type=TokenType.ACCESS, now=T0, ttl=ttl, version=3
    )
    return token


def test_a_kept_token_still_expires_on_the_clock() -> None:
    # Given a token read once, so its signature check is kept
    token = access_token(ttl=timedelta(minutes=15))
    claims = read_token(SECRET, token, expected=TokenType.ACCESS, now=T0)
    assert (claims.subject, claims.version) == ("acct-1", 3)
    assert claims.expires_at == T0 + timedelta(minutes=15)
    # Then it is refused once its expiry has passed, kept or not
    with pytest.raises(TokenError, match="expired"):
        read_token(SECRET, token, expected=TokenType.ACCESS, now=T0 + timedelta(minutes=15))
    # And it is accepted again by a clock before expiry (nothing about the clock is kept)
    read_token(SECRET, token, expected=TokenType.ACCESS, now=T0 + timedelta(minutes=14))


def test_a_kept_token_is_still_only_the_type_it_was_signed_as() -> None:
    token = access_token()
    read_token(SECRET, token, expected=TokenType.ACCESS, now=T0)
    with pytest.raises(TokenError, match="not an refresh token"):
        read_token(SECRET, token, expected=TokenType.REFRESH, now=T0)


def test_a_kept_token_is_refused_under_another_secret() -> None:
    # Given a token checked under SECRET, then the service's secret rotated
    token = access_token()
    read_token(SECRET, token, expected=TokenType.ACCESS, now=T0)
    # Then it is not valid under the new secret: what is kept is per (secret, token)
    with pytest.raises(TokenError, match="signature"):
        read_token("n" * 40, token, expected=TokenType.ACCESS, now=T0)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), id="signature"),
        pytest.param(lambda t: t.replace(".", "!", 1), id="header-separator"),
        pytest.param(lambda t: t + "x", id="trailing-byte"),
        pytest.param(lambda t: "", id="empty"),
    ],
)
def test_a_changed_copy_of_a_kept_token_is_refused(tamper: object) -> None:
    # Given a valid token already checked (and kept)
    token = access_token()
    read_token(SECRET, token, expected=TokenType.ACCESS, now=T0)
    # Then any other byte string is checked on its own, not taken for the kept one
    changed = tamper(token)  # type: ignore[operator]
    assert changed != token
    with pytest.raises(TokenError):
        read_token(SECRET, changed, expected=TokenType.ACCESS, now=T0)


def test_refused_tokens_are_not_kept() -> None:
    before = tokens._verified_claims.cache_info().currsize
    for i in range(20):
        with pytest.raises(TokenError):
            read_token(SECRET, f"not.a.token{i}", expected=TokenType.ACCESS, now=T0)
    assert tokens._verified_claims.cache_info().currsize == before


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"sub": "a", "typ": "access", "jti": "j", "exp": "soon"}, "malformed|expiry"),
        ({"sub": "a", "typ": "access", "exp": 2_000_000_000}, "malformed"),  # no jti
        ({"sub": "a", "typ": "access", "jti": "j", "exp": 2_000_000_000, "ver": "3"}, "version"),
    ],
)
def test_signed_tokens_with_bad_claims_are_refused(claims: dict[str, object], reason: str) -> None:
    # Signed with the right secret and issuer, so only the claims' checks can refuse them
    token = jwt.encode({**claims, "iss": tokens.ISSUER}, SECRET, algorithm=tokens.ALGORITHM)
    with pytest.raises(TokenError, match=reason):
        read_token(SECRET, token, expected=TokenType.ACCESS, now=T0)


def test_a_token_minted_by_a_host_whose_clock_runs_ahead_is_accepted() -> None:
    # Given a token issued by another API host whose clock is a minute ahead of the wall clock
    ahead = datetime.now(UTC) + timedelta(minutes=1)
    token, _ = make_token(
        SECRET, subject="acct-2", token_type=TokenType.ACCESS, now=ahead, ttl=timedelta(minutes=15)
    )
    # Then this host accepts it at once: its issue time is not held against this wall clock
    claims = read_token(SECRET, token, expected=TokenType.ACCESS, now=datetime.now(UTC))
    assert claims.subject == "acct-2"
