"""The slow parts of the lead features stay fresh: a periodic task (every
AIQ_WORKER__FEATURE_PRECOMPUTE_SECONDS, an hour by default) rebuilds the "lead_geo" set in the
feature store and snapshots every ZIP's and metro's market context for the month
(`market.service.store_contexts`). Both the batch and the online path read these back
(aiqleads.features.lead, aiqleads.features.lead_market), so between two runs a lead's
geospatial and market values are those of the last run, and a lead that came after it has its
geospatial values computed when asked.
"""

from __future__ import annotations

import logging

from aiqleads.db.engine import transaction
from aiqleads.features import service
from aiqleads.features.lead import GEO_SET
from aiqleads.market import service as market
from aiqleads.worker import TaskContext, task

log = logging.getLogger(__name__)


@task(
    "features.precompute",
    every=lambda settings: settings.worker.feature_precompute_seconds,
    # An hour: at 1M leads in one metro a run takes minutes (docs/operations/scaling.md),
    # past the 10 minutes other tasks get on a slow machine.
    time_limit_seconds=3600.0,
    # Never retried: a run past its limit is cancelled, but its computing thread
    # (asyncio.to_thread) cannot be and runs on, so a retry would compute beside it, twice the
    # memory of the worker's largest task. The next period runs it again anyway, and a failed
    # run stays in the outbox as dead for the operator to see.
    max_retries=0,
)
async def precompute(ctx: TaskContext) -> None:
    """Rebuild the "lead_geo" set and store this month's context snapshots, as of now, each
    in its own transaction."""
    now = ctx.clock.now()
    async with transaction(ctx.sessions) as session:
        built = await service.build(session, GEO_SET, now, settings=ctx.settings.features)
    async with transaction(ctx.sessions) as session:
        regions = await market.store_contexts(session, now=now)
    log.info("features precomputed", extra={"leads": built.entities, "regions": regions})
