"""Online accuracy per recommender version: a periodic task (every
AIQ_RECOMMEND__OUTCOME_CHECK_SECONDS) counts the views, holds and purchases of the period just
ended that followed a recommendation of the same lead to the same agent (served at most
`outcome_window_hours` before the period began) into `aiq_recommendation_outcomes_total`
{model_version, outcome}. Divided by `aiq_recommendation_items_total` it is the share of served
recommendations opened, held and bought, per version, for dashboards and alerts.

Each run counts the period of its own length before its start time, so a run that does not
happen leaves its period uncounted (counters only ever go up; a rate over hours smooths it).
"""

from __future__ import annotations

from datetime import timedelta

from aiqleads.db.engine import transaction
from aiqleads.models.enums import EventKind
from aiqleads.observability.metrics import RECOMMENDATION_OUTCOMES
from aiqleads.recommend import repository
from aiqleads.worker import TaskContext, task

OUTCOMES = {
    EventKind.VIEW.value: "opened",
    EventKind.HOLD.value: "held",
    EventKind.PURCHASE.value: "bought",
}


@task("recommend.outcomes", every=lambda settings: settings.recommend.outcome_check_seconds)
async def outcomes(ctx: TaskContext) -> None:
    """Count the last period's outcomes of served recommendations (module docstring)."""
    s = ctx.settings.recommend
    now = ctx.clock.now()
    async with transaction(ctx.sessions) as session:
        found = await repository.outcomes(
            session,
            since=now - timedelta(seconds=s.outcome_check_seconds),
            until=now,
            window=timedelta(hours=s.outcome_window_hours),
        )
    for version, kind, n in found:
        RECOMMENDATION_OUTCOMES.labels(version, OUTCOMES[kind]).inc(n)
