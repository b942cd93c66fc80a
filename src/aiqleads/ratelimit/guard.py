"""The three checks the request path makes: per account (its tier), per address, per login."""

from __future__ import annotations

import hashlib

from starlette.types import Scope

from aiqleads.auth.principal import Principal
from aiqleads.config import TierPolicy
from aiqleads.observability.middleware import PRINCIPAL_KEY
from aiqleads.ratelimit.limiter import RequestLimiter, client_ip


def _remember(scope: Scope, principal: Principal) -> None:
    # For the access log: the account's public id, never its e-mail.
    scope.setdefault("state", {})[PRINCIPAL_KEY] = str(principal.public_id)


async def limit_principal(
    scope: Scope, limiter: RequestLimiter, principal: Principal, policy: TierPolicy
) -> None:
    """Count a signed-in request against its tier's `rate_limit_per_minute`.

    Raises RateLimited (429) past it. Exempt: accounts and client networks on the settings'
    exemption lists."""
    _remember(scope, principal)
    if not limiter.enabled:
        return
    if limiter.exempt_account(principal.email) or limiter.exempt_ip(client_ip(scope)):
        return
    await limiter.check(
        scope,
        policy.rate_limit_per_minute,
        "account",
        str(principal.public_id),
        label=("account", principal.tier.value),
    )


async def limit_anonymous(scope: Scope, limiter: RequestLimiter) -> None:
    """Count a request made without an account against its client address's limit."""
    if not limiter.enabled:
        return
    ip = client_ip(scope)
    if limiter.exempt_ip(ip):
        return
    await limiter.check(
        scope,
        limiter.settings.anonymous_per_minute,
        "ip",
        ip,
        label=("ip", "anonymous"),
    )


async def limit_login(scope: Scope, limiter: RequestLimiter, username: str) -> None:
    """Count a login attempt against the account it names (the e-mail enters the key only as
    a digest), whatever address it comes from. The address's own limit is checked by the
    route's `AnonymousRateLimit`."""
    if not limiter.enabled:
        return
    name = username.strip().lower()
    if limiter.exempt_account(name) or limiter.exempt_ip(client_ip(scope)):
        return
    digest = hashlib.sha256(name.encode()).hexdigest()[:24]
    await limiter.check(
        scope,
        limiter.settings.login_per_minute,
        "login",
        digest,
        label=("login", "anonymous"),
    )


async def limit_register(scope: Scope, limiter: RequestLimiter) -> None:
    """Count a registration against its client address's hourly limit
    (`register_per_hour`): a 409 for a known e-mail says the account exists, so testing a list
    of addresses must be slow."""
    if not limiter.enabled:
        return
    ip = client_ip(scope)
    if limiter.exempt_ip(ip):
        return
    await limiter.check(
        scope,
        limiter.settings.register_per_hour,
        "register",
        ip,
        label=("register", "anonymous"),
        window_seconds=3600,
    )
