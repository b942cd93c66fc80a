"""The policy each tier follows now: an admin's row when there is one, else the settings.

Every request reads it, so each process keeps the answer for a few seconds
(`tier_policy_ttl_seconds`) instead of asking the database each time; an admin's change is seen
at once by the process that made it and by every other process within that time.
"""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import Settings, TierPolicy
from aiqleads.models.enums import Tier
from aiqleads.observability.metrics import CACHE_HITS, CACHE_MISSES
from aiqleads.tiers import repository


class TierPolicies:
    """One process's view of the tier policies."""

    def __init__(self, settings: Settings) -> None:
        self._defaults = dict(settings.tiers)
        self._ttl = settings.tier_policy_ttl_seconds
        self._current: dict[str, TierPolicy] | None = None
        self._read_at = 0.0

    def defaults(self) -> dict[str, TierPolicy]:
        return dict(self._defaults)

    async def current(self, session: AsyncSession) -> dict[str, TierPolicy]:
        """Every tier's policy: tier name → policy."""
        if self._current is None or time.monotonic() - self._read_at > self._ttl:
            CACHE_MISSES.labels("tier_policy").inc()
            self._current = {**self._defaults, **await repository.overrides(session)}
            self._read_at = time.monotonic()
        else:
            CACHE_HITS.labels("tier_policy").inc()
        return self._current

    async def of(self, session: AsyncSession, tier: Tier) -> TierPolicy:
        return (await self.current(session))[tier.value]

    async def set(
        self,
        session: AsyncSession,
        tier: Tier,
        policy: TierPolicy | None,
        *,
        by: int,
        now: datetime,
    ) -> TierPolicy:
        """Set a tier's policy (None: back to the settings' default); returns the policy now in
        force. Seen by this process at once."""
        if policy is None:
            await repository.delete(session, tier.value)
        else:
            await repository.save(session, tier.value, policy, by=by, now=now)
        self._current = None
        return policy or self._defaults[tier.value]
