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
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiqleads.observability.metrics import CACHE_HITS, CACHE_MISSES

_CACHE_LABEL = "principal"


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


class PrincipalCache:
    """Account facts by public id, each kept until `ttl_seconds` after it was read, at most
    `max_entries` of them (the least recently read go first)."""

    def __init__(self, ttl_seconds: float = 5.0, max_entries: int = 10_000) -> None:
        if ttl_seconds < 0 or max_entries < 1:
            raise ValueError("ttl_seconds must be >= 0 and max_entries >= 1")
        self.ttl = timedelta(seconds=ttl_seconds)
        self.max_entries = max_entries
        self._entries: OrderedDict[uuid.UUID, tuple[datetime, AccountFacts]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.ttl > timedelta(0)

    def get(self, public_id: uuid.UUID, *, now: datetime) -> AccountFacts | None:
        """The facts kept for the account, or None when none are kept or they are `ttl` old."""
        if not self.enabled:
            return None
        entry = self._entries.get(public_id)
        if entry is None or now >= entry[0] or now < entry[0] - self.ttl:
            # Expired, or read "in the future" of this clock (a clock set back): read again.
            CACHE_MISSES.labels(_CACHE_LABEL).inc()
            return None
        CACHE_HITS.labels(_CACHE_LABEL).inc()
        return entry[1]

    def put(self, facts: AccountFacts, *, now: datetime) -> None:
        if not self.enabled:
            return
        self._entries[facts.public_id] = (now + self.ttl, facts)
        self._entries.move_to_end(facts.public_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget_all(self) -> None:
        """Drop everything kept: an account changed in this process (rare: deactivation, a
        revoked token family, a new tier), so nothing stale is served here."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# One per process, as the password-hashing pool (`passwords.configure_pool`): create_app sets its
# time to live from the settings.
principals = PrincipalCache()


def configure_principal_cache(ttl_seconds: float) -> None:
    """Set this process's cache time to live in seconds (0: off), dropping what it kept."""
    if ttl_seconds < 0:
        raise ValueError("ttl_seconds must be >= 0")
    principals.ttl = timedelta(seconds=ttl_seconds)
    principals.forget_all()


def account_changed() -> None:
    """Call after changing an account's role, tier, cart limit, active flag or token version:
    this process stops using what it kept (other processes within their time to live)."""
    principals.forget_all()
