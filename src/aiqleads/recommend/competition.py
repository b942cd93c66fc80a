"""Competition counts per H3 res-8 cell, kept per process for a short while.

A recommendation needs, for each preview cell its candidates fall in, the holds and purchases
of every agent on that cell's leads in the `COMPETITION_DAYS` before now. The counts move
slowly (a hold is one of hundreds in a month), and they are the same for every agent. Reading
them per request for the request's cells (`repository.competition`) read every lead of those
cells, and on PostgreSQL every hold and purchase of the month too: the dearest query of a
request, and one that grows with the leads per cell (at 100k leads, 70 cells: 11k leads read,
90 ms). So each process reads the whole market's counts at once (`repository.competition_by_cell`:
the month's holds and purchases, each joined to its lead's cell) and keeps them for
`ttl_seconds` of request time; every request in between is answered from memory. A count is at
most `ttl_seconds` stale: a feature, not a balance.

Counts are per preview cell, never per lead: nothing here depends on an exact point, so the
cache answers the same for every caller (DESIGN.md section 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.recommend import repository
from aiqleads.recommend.features import COMPETITION_DAYS


class CompetitionCache:
    """One process's cell → count map of the whole market (cells with no hold or purchase
    absent), with the time it was read."""

    def __init__(self, ttl_seconds: float) -> None:
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must be at least 0")
        self._ttl = timedelta(seconds=ttl_seconds)
        self._counts: dict[int, int] = {}
        self._read_at: datetime | None = None

    def __len__(self) -> int:
        """How many cells the kept map holds (those with a hold or purchase)."""
        return len(self._counts)

    async def counts(
        self, session: AsyncSession, cells: Sequence[int], *, now: datetime
    ) -> dict[int, int]:
        """cell → holds and purchases in [now − COMPETITION_DAYS, now) on its leads (0 when
        none), for each of `cells`, from the market's counts read at most `ttl_seconds` before
        `now` (an aware datetime). A `now` before the time they were read (a clock set back)
        reads them again. With a TTL of 0, only `cells` are read, every time."""
        since = now - timedelta(days=COMPETITION_DAYS)
        if not self._ttl:
            read = await repository.competition(session, cells, since=since, until=now)
            return {cell: read.get(cell, 0) for cell in set(cells)}
        if self._read_at is None or not timedelta(0) <= now - self._read_at < self._ttl:
            self._counts = await repository.competition_by_cell(session, since=since, until=now)
            self._read_at = now
        return {cell: self._counts.get(cell, 0) for cell in set(cells)}
