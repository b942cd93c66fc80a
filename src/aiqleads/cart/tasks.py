"""The hold sweeper: a periodic task (every AIQ_WORKER__HOLD_SWEEP_SECONDS, 30 s by default).

Readers already treat a lapsed hold as no hold (the shared visibility rule), so the sweeper only
tidies up and tells people: it stores lapsed holds' leads as available again, closes hold
records that ended, logs an `expire` event per hold it ends, and sends each holder a
`hold_expired` notice (and `hold.expired` webhook); and it sends `hold_expiring` (and
`hold.expiring`) once per hold when less than AIQ_WORKER__HOLD_EXPIRING_MINUTES are left. The
database work is one transaction; notices go out after it commits.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from aiqleads.cart import repository
from aiqleads.db.engine import transaction
from aiqleads.events import repository as events
from aiqleads.leads import writes
from aiqleads.models.enums import EventKind
from aiqleads.notices.channels import MARKET, account_channel, message
from aiqleads.observability.metrics import ACTIVE_HOLDS, HOLD_EXPIRING_NOTICES, HOLDS_EXPIRED
from aiqleads.webhooks import service as webhooks
from aiqleads.webhooks.schemas import WebhookEvent
from aiqleads.worker import TaskContext, task

BATCH = 1000  # lapsed leads stored as available per run; more: the sweeper runs again at once


def _minutes_left(until: datetime, now: datetime) -> float:
    return round((until - now).total_seconds() / 60, 1)


@task("cart.sweep_holds", every=lambda settings: settings.worker.hold_sweep_seconds)
async def sweep_holds(ctx: TaskContext) -> None:
    """End lapsed holds and send the expiry notices (see the module's docstring)."""
    now = ctx.clock.now()
    within = timedelta(minutes=ctx.settings.worker.hold_expiring_minutes)
    notices: list[tuple[str, dict[str, Any]]] = []
    async with transaction(ctx.sessions) as session:
        freed = await writes.expire_holds(session, now=now, limit=BATCH)
        ended = await repository.end_stale(session, now=now)
        await events.append(
            session,
            [
                events.event(
                    EventKind.EXPIRE, account_id=account, lead_id=lead, at=now, data={"reason": why}
                )
                for lead, account, why in ended
            ],
        )
        expiring = await repository.claim_expiring(session, now=now, until=now + within)
        public = await repository.public_ids(session, [*freed, *(lead for lead, _, _ in ended)])
        for lead, account, why in ended:
            lead_id = str(public[lead])
            await webhooks.emit(
                session,
                account,
                WebhookEvent.HOLD_EXPIRED,
                {"lead_id": lead_id, "reason": why, "ended_at": now.isoformat()},
                now=now,
            )
            notices.append(
                (
                    account_channel(account),
                    message("hold_expired", at=now, lead_id=lead_id, reason=why),
                )
            )
        for hold in expiring:
            fields = {
                "lead_id": str(hold.lead_public_id),
                "held_until": hold.held_until.isoformat(),
                "minutes_left": _minutes_left(hold.held_until, now),
            }
            await webhooks.emit(
                session, hold.account_id, WebhookEvent.HOLD_EXPIRING, fields, now=now
            )
            notices.append(
                (account_channel(hold.account_id), message("hold_expiring", at=now, **fields))
            )
        if len(freed) == BATCH:
            await sweep_holds.enqueue(session)
        active = await repository.active_count(session, now=now)
    ACTIVE_HOLDS.set(active)
    for why, n in Counter(why for _, _, why in ended).items():
        HOLDS_EXPIRED.labels(reason=why).inc(n)
    HOLD_EXPIRING_NOTICES.inc(len(expiring))
    if freed:
        ids = sorted(str(public[lead]) for lead in freed)
        notices.append((MARKET, message("leads_available", at=now, lead_ids=ids)))
    for channel, body in notices:
        await ctx.notices.publish(channel, body)
