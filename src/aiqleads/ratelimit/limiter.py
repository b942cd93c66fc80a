"""Request rate limits with the `limits` package.

Three scopes, each a count of requests per minute under its own key:

* `account`: a signed-in caller (bearer token or API key), at its tier's `rate_limit_per_minute`
  as the tier policy in force says (an admin may change it at run time);
* `ip`: calls without an account (registration, login, refresh, and failed authentications),
  per client address, at `anonymous_per_minute`;
* `login`: login attempts per account named, at `login_per_minute`, whatever the address (so a
  password guesser gains nothing from many addresses).

Counts live in Redis when AIQ_REDIS_URL is set, shared by every worker and host, and in process
memory otherwise. With Redis, the moving window (the default) answering headers on success is
hit and counted by one script of ours (`ratelimit.moving_window`) on `limits`' data, where the
library needs two round trips. A storage failure lets the request through (counted in
aiq_rate_limit_storage_errors_total): an outage of Redis must not take the API down with it.
A refused request is a 429 with `Retry-After` and the `RateLimit-*` headers of the IETF
draft "RateLimit header fields for HTTP" (limit, remaining, reset in seconds, and the policy).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.errors import StorageError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import Scope

from aiqleads.config import RateLimitSettings
from aiqleads.errors import AppError, ErrorCode
from aiqleads.observability.metrics import RATE_LIMIT_REJECTIONS, RATE_LIMIT_STORAGE_ERRORS
from aiqleads.observability.middleware import RATE_LIMIT_HEADERS_KEY as HEADERS_KEY
from aiqleads.ratelimit.moving_window import RedisMovingWindow

log = logging.getLogger(__name__)


_STRATEGIES: dict[str, type[RateLimiter]] = {
    "moving-window": MovingWindowRateLimiter,
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
    "fixed-window": FixedWindowRateLimiter,
}


class RateLimited(AppError):
    status = 429
    code = ErrorCode.RATE_LIMITED


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until one more request is allowed (moving window: the oldest hit ages out)
    window_seconds: int = 60

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
            "RateLimit-Policy": f"{self.limit};w={self.window_seconds}",
        }


def client_ip(scope: Scope) -> str:
    """The client's address as the server saw it (uvicorn rewrites it from X-Forwarded-For
    when the proxy is trusted: --forwarded-allow-ips)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RequestLimiter:
    """One process's limiter; the counts themselves are in its storage."""

    def __init__(self, settings: RateLimitSettings, *, redis: Redis | None, namespace: str):
        self.settings = settings
        self.enabled = settings.enabled
        self._exempt_accounts = {e.strip().lower() for e in settings.exempt_accounts}
        self._exempt_networks = [
            ipaddress.ip_network(n.strip(), strict=False) for n in settings.exempt_networks
        ]
        self.storage: Storage
        # The moving window in Redis with its headers: one script, hit and counted at once.
        self._one_trip: RedisMovingWindow | None = None
        if redis is not None:
            key_prefix = f"{namespace}:ratelimit"
            if settings.strategy == "moving-window" and settings.headers_on_success:
                self._one_trip = RedisMovingWindow(redis, key_prefix)
            # The application's own client pool: no second pool, closed with the app's client.
            self.storage = RedisStorage(
                "async+redis://",
                implementation="redispy",
                key_prefix=key_prefix,
                wrap_exceptions=True,
                connection_pool=redis.connection_pool,  # type: ignore[arg-type]
            )
        else:
            self.storage = MemoryStorage()
        self.shared = redis is not None
        self._strategy = _STRATEGIES[settings.strategy](self.storage)
        self._items: dict[tuple[int, int], RateLimitItem] = {}

    @property
    def storage_name(self) -> str:
        return "redis" if self.shared else "memory"

    def _item(self, limit: int, window_seconds: int) -> RateLimitItem:
        item = self._items.get((limit, window_seconds))
        if item is None:
            kind = RateLimitItemPerHour if window_seconds == 3600 else RateLimitItemPerMinute
            item = self._items[(limit, window_seconds)] = kind(limit)
        return item

    def exempt_ip(self, ip: str) -> bool:
        if not self._exempt_networks:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in net for net in self._exempt_networks)

    def exempt_account(self, email: str) -> bool:
        return email.lower() in self._exempt_accounts

    async def hit(self, per_minute: int, *key: str, window_seconds: int = 60) -> Verdict | None:
        """Count one request under `key` against `per_minute` requests per window (60 s, or
        3600 s: then the limit is per hour); None when the storage could not be reached."""
        item = self._item(per_minute, window_seconds)
        try:
            if self._one_trip is not None:
                count = await self._one_trip.hit(item, *key)
                return Verdict(
                    count.allowed, per_minute, count.remaining, count.reset_seconds, window_seconds
                )
            allowed = await self._strategy.hit(item, *key)
            if not allowed or self.settings.headers_on_success:
                stats = await self._strategy.get_window_stats(item, *key)
            else:
                return Verdict(True, per_minute, 0, 0, window_seconds)
        except (StorageError, RedisError, ConnectionError, TimeoutError, OSError) as exc:
            RATE_LIMIT_STORAGE_ERRORS.inc()
            log.warning("rate limit storage unreachable: %s", type(exc).__name__)
            return None
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Verdict(allowed, per_minute, max(0, stats.remaining), reset, window_seconds)

    async def check(
        self,
        scope: Scope,
        per_minute: int,
        *key: str,
        label: tuple[str, str],
        window_seconds: int = 60,
    ) -> None:
        """Count the request; raise RateLimited (429) when over the limit. The headers go on
        the scope's state for the answer. `label` is (scope, tier) for the rejection metric;
        `window_seconds` 3600 makes `per_minute` a limit per hour."""
        verdict = await self.hit(per_minute, *key, window_seconds=window_seconds)
        if verdict is None:
            return
        headers = verdict.headers()
        if self.settings.headers_on_success or not verdict.allowed:
            scope.setdefault("state", {})[HEADERS_KEY] = headers
        if not verdict.allowed:
            RATE_LIMIT_REJECTIONS.labels(*label).inc()
            retry = max(1, verdict.reset_seconds)
            per = "hour" if window_seconds == 3600 else "minute"
            raise RateLimited(
                f"rate limit of {verdict.limit} requests per {per} exceeded; retry in {retry} s",
                detail={
                    "limit": verdict.limit,
                    "window_seconds": window_seconds,
                    "retry_after": retry,
                },
                headers={**headers, "Retry-After": str(retry)},
            )
