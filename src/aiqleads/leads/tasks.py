"""After new leads are stored: tell the market (a `leads_published` notice), so agents whose
saved search they match see them arrive. Each live socket forwards an id only once the lead is
visible to its agent (after the tier's priority window) and matches the agent's saved search."""

from __future__ import annotations

from aiqleads.leads import repository
from aiqleads.notices.channels import MARKET, message
from aiqleads.worker import TaskContext, task


@task("leads.announce")
async def announce(ctx: TaskContext, *, lead_ids: list[int]) -> None:
    """Publish the public ids of new leads on the `market` channel. Safe to repeat: a page
    shows a new lead once however often it is told."""
    async with ctx.sessions() as session:
        public = await repository.public_ids(session, lead_ids)
    if public:
        ids = sorted(str(p) for p in public.values())
        notice = message("leads_published", at=ctx.clock.now(), lead_ids=ids)
        await ctx.notices.publish(MARKET, notice)
