"""After a purchase commits: tell the buyer (a `purchase_confirmed` notice on its channel, which
its open pages show at once). The `purchase.confirmed` webhook is recorded by the checkout's
own transaction (`webhooks.service.emit`)."""

from __future__ import annotations

from aiqleads.checkout import repository
from aiqleads.leads import repository as leads
from aiqleads.notices.channels import account_channel, message
from aiqleads.worker import TaskContext, task


@task("checkout.notify_purchase")
async def notify_purchase(ctx: TaskContext, *, order_id: int) -> None:
    """Publish the order's `purchase_confirmed` notice. Safe to repeat: a page shows one
    purchase once however often it is told."""
    async with ctx.sessions() as session:
        order = await repository.by_id(session, order_id)
        if order is None:
            return
        lines = await repository.lines(session, order_id)
        public = await leads.public_ids(session, [r.lead_id for r in lines if r.outcome == "sold"])
    await ctx.notices.publish(
        account_channel(order.account_id),
        message(
            "purchase_confirmed",
            at=ctx.clock.now(),
            order_id=str(order.public_id),
            lead_ids=sorted(str(p) for p in public.values()),
        ),
    )
