"""`webhooks.deliver`: one attempt at one delivery, and the next one scheduled if it failed.

The request goes out between two short transactions (claim, then record), never inside one.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx

from aiqleads.db.engine import transaction
from aiqleads.observability.metrics import WEBHOOK_DELIVERIES
from aiqleads.webhooks import repository
from aiqleads.webhooks.schemas import DeliveryStatus
from aiqleads.webhooks.signing import HEADER, signature_header
from aiqleads.worker import TaskContext, task
from aiqleads.worker.backoff import backoff_seconds

log = logging.getLogger(__name__)


@task("webhooks.deliver")
async def deliver(ctx: TaskContext, *, delivery_id: int) -> None:
    """POST the delivery's body to its endpoint, signed. A 2xx answer delivers it; anything else
    (another status, a timeout, a refused connection) counts an attempt and schedules the next
    one after an exponential backoff with jitter, until AIQ_WEBHOOKS__MAX_ATTEMPTS, after which
    the delivery is given up (`failed`). Running twice for one attempt does nothing the second
    time (the first claimed it)."""
    policy = ctx.settings.webhooks
    now = ctx.clock.now()
    lease = now + timedelta(seconds=policy.timeout_seconds * 2 + 60)
    async with transaction(ctx.sessions) as session:
        attempt = await repository.claim(session, delivery_id, now=now, until=lease)
    if attempt is None:
        return
    body = attempt.body.encode("utf-8")
    secret = ctx.cipher.decrypt(attempt.secret_enc) or ""
    number = attempt.attempts + 1
    headers = {
        "Content-Type": "application/json",
        HEADER: signature_header(body, secret, timestamp=int(now.timestamp())),
        "AIQ-Event-Id": attempt.event_id,
        "AIQ-Event-Type": attempt.event_type,
        "AIQ-Delivery-Id": str(attempt.public_id),
        "AIQ-Delivery-Attempt": str(number),
    }
    http_status: int | None = None
    error: str | None = None
    try:
        answer = await ctx.http.post(attempt.url, content=body, headers=headers)
        http_status = answer.status_code
        if not 200 <= http_status < 300:
            error = f"HTTP {http_status}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    done_at = ctx.clock.now()
    next_at = None
    if error is None:
        status, outcome = DeliveryStatus.DELIVERED, "delivered"
    elif number >= policy.max_attempts:
        status, outcome = DeliveryStatus.FAILED, "failed"
    else:
        status, outcome = DeliveryStatus.PENDING, "retry"
        wait = backoff_seconds(
            number, base=policy.backoff_base_seconds, cap=policy.backoff_max_seconds
        )
        next_at = done_at + timedelta(seconds=wait)
    async with transaction(ctx.sessions) as session:
        await repository.record_attempt(
            session,
            attempt.id,
            status=status,
            http_status=http_status,
            error=error,
            now=done_at,
            next_attempt_at=next_at,
        )
        if next_at is not None:
            await deliver.enqueue_at(session, next_at, delivery_id=attempt.id)
    WEBHOOK_DELIVERIES.labels(event_type=attempt.event_type, outcome=outcome).inc()
    if error is not None:
        log.info(
            "webhook delivery failed",
            extra={"delivery": str(attempt.public_id), "attempt": number, "error": error},
        )
