"""Accounts as the access-token check needs them, kept a few seconds per process.

Every authenticated request used to read its account's row (role, tier, active, token version)
before anything else: one database round trip and a statement's execution for a handful of
columns that change a few times in an account's life. Each process now keeps the row it read
for `ttl` seconds (AIQ_AUTH_CACHE_SECONDS, default 5; 0 turns the cache off) and checks the
token against it as it would against the database.

The bound this gives: a deactivation, a revoked token family (the token version rises) or a
changed tier or role is seen at once by the process that made it (it forgets what it kept),
and by every other process within `ttl` seconds. Expiry follows the request's clock
(`kit/clock.py`), so tests move it rather than wait.

API keys are kept the same way, by prefix, with their account's facts: a revoked key stops
working at once in the process that revoked it and within `ttl` seconds elsewhere. A key's
`last_used_at` is written at most once a minute per process (`API_KEY_TOUCH_INTERVAL`) rather
than on every request, which made every API-key request a write.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from aiqleads.observability.metrics import CACHE_HITS, CACHE_MISSES

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
# How often a key's last use is written, at most, per process.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """The columns of `accounts` an access token's check and the principal need."""

    id: int
    public_id: uuid.UUID
    email: str
    role: str
    tier: str
    custom_cart_limit: int | None
    is_active: bool
    token_version: int


@dataclass(frozen=True, slots=True)
class ApiKeyFacts:
    """An API key as its check needs it, with its account's facts (None: no such account)."""

    key_id: int
    secret_hash: str
    revoked: bool
    account: AccountFacts | None
    last_used_at: datetime | None


class TimedCache(Generic[K, V]):
    """Values by key, each kept until `ttl_seconds` after it was read, at most `max_entries`
    of them (the least recently stored go first). `name` labels the cache metrics."""

    def __init__(self, name: str, ttl_seconds: float = 5.0, max_entries: int = 10_000) -> None:
        if ttl_seconds < 0 or max_entries < 1:
            raise ValueError("ttl_seconds must be >= 0 and max_entries >= 1")
        self.name = name
        self.ttl = timedelta(seconds=ttl_seconds)
        self.max_entries = max_entries
        self._entries: OrderedDict[K, tuple[datetime, V]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.ttl > timedelta(0)

    def get(self, key: K, *, now: datetime) -> V | None:
        """The value kept under `key`, or None when none is kept or it is `ttl` old."""
        if not self.enabled:
            return None
        entry = self._entries.get(key)
        if entry is None or now >= entry[0] or now < entry[0] - self.ttl:
            # Expired, or read "in the future" of this clock (a clock set back): read again.
            CACHE_MISSES.labels(self.name).inc()
            return None
        CACHE_HITS.labels(self.name).inc()
        return entry[1]

    def put(self, key: K, value: V, *, now: datetime) -> None:
        if not self.enabled:
            return
        self._entries[key] = (now + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def replace(self, key: K, value: V) -> None:
        """Change a kept value without extending its time (nothing if none is kept)."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries[key] = (entry[0], value)

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def forget_all(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# One of each per process, as the password-hashing pool (`passwords.configure_pool`): create_app
# sets their time to live from the settings.
principals: TimedCache[uuid.UUID, AccountFacts] = TimedCache("principal")
api_keys: TimedCache[str, ApiKeyFacts] = TimedCache("api_key")


def configure_principal_cache(ttl_seconds: float) -> None:
    """Set this process's cache time to live in seconds (0: off), dropping what it kept."""
    if ttl_seconds < 0:
        raise ValueError("ttl_seconds must be >= 0")
    for cache in (principals, api_keys):
        cache.ttl = timedelta(seconds=ttl_seconds)
        cache.forget_all()


def account_changed() -> None:
    """Call after changing an account's role, tier, cart limit, active flag or token version:
    this process stops using what it kept (other processes within their time to live)."""
    principals.forget_all()
    api_keys.forget_all()
