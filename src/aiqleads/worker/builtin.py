"""The worker's own task: `worker.ping`, to see that tasks run (`aiqleads tasks ping`)."""

from __future__ import annotations

import logging

from aiqleads.worker.context import TaskContext
from aiqleads.worker.registry import task

log = logging.getLogger(__name__)


@task("worker.ping", max_retries=0)
async def ping(ctx: TaskContext, *, note: str = "") -> None:
    """Log a line, and publish `{"type": "pong", "note": …}` on the `system` channel."""
    from aiqleads.notices.channels import message

    log.info("pong", extra={"note": note})
    await ctx.notices.publish("system", message("pong", at=ctx.clock.now(), note=note))
