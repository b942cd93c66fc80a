"""Compaction of the precomputed geo tallies: a periodic task (every
AIQ_WORKER__GEO_TALLY_COMPACT_SECONDS, 60 s by default).

The triggers of migration 0035 append a signed row per change (a sale, a new lead, a move), so
a metro's rows grow with its writes; readers sum them, so their cost grows too. This task folds
each metro's rows into one per key, one metro per transaction. It is safe to repeat and to kill
at any point: a compaction that does not commit changes nothing, and readers sum whatever rows
there are. The office tallies of migration 0039 (one table for every metro) are folded the same
way, in a transaction of their own.
"""

from __future__ import annotations

import logging

from aiqleads.db.engine import transaction
from aiqleads.geo.repository import tallies
from aiqleads.worker import TaskContext, task

log = logging.getLogger(__name__)


@task("geo.compact_tallies", every=lambda settings: settings.worker.geo_tally_compact_seconds)
async def compact_tallies(ctx: TaskContext) -> None:
    """Compact every metro's tally rows, then the office tallies (see the module's
    docstring)."""
    async with ctx.sessions() as session:
        metros = await tallies.tallied_metros(session)
    for metro in metros:
        async with transaction(ctx.sessions) as session:
            left = await tallies.compact(session, metro)
        log.info("geo tallies compacted", extra={"metro": metro, "rows": left})
    async with transaction(ctx.sessions) as session:
        left = await tallies.compact_offices(session)
    log.info("geo office tallies compacted", extra={"rows": left})
