"""Competition counts per H3 res-8 cell, kept per process for a short while.

A recommendation needs, for each preview cell its candidates fall in, the holds and purchases
of every agent on that cell's leads in the `COMPETITION_DAYS` before now
(`repository.competition`). The counts move slowly (a hold is one of hundreds in a month), yet
reading them is one of the dearest queries of a request; so each process keeps each cell's
count for `ttl_seconds` of request time and reads only the cells it does not hold (or holds
too old). A count is at most `ttl_seconds` stale: a feature, not a balance.

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
    """One process's cell → (count, time counted) map, bounded to `max_cells` cells (cleared
    whole when full: the next requests refill what they use)."""

    def __init__(self, ttl_seconds: float, *, max_cells: int = 200_000) -> None:
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must be at least 0")
        self._ttl = timedelta(seconds=ttl_seconds)
        self._max = max_cells
        self._counts: dict[int, tuple[int, datetime]] = {}

    def __len__(self) -> int:
        return len(self._counts)

    async def counts(
        self, session: AsyncSession, cells: Sequence[int], *, now: datetime
    ) -> dict[int, int]:
        """cell → holds and purchases in [now − COMPETITION_DAYS, now) on its leads (0 when
        none), each read at most `ttl_seconds` before `now` (an aware datetime). A `now` before
        the time a count was read (a clock set back) reads it again."""
        fresh: dict[int, int] = {}
        missing: list[int] = []
        for cell in set(cells):
            held = self._counts.get(cell)
            if held is not None and timedelta(0) <= now - held[1] < self._ttl:
                fresh[cell] = held[0]
            else:
                missing.append(cell)
        if missing:
            read = await repository.competition(
                session, missing, since=now - timedelta(days=COMPETITION_DAYS), until=now
            )
            if len(self._counts) + len(missing) > self._max:
                self._counts.clear()
            for cell in missing:
                n = read.get(cell, 0)
                fresh[cell] = n
                if self._ttl:
                    self._counts[cell] = (n, now)
        return fresh
