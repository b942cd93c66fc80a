"""The periodic source profile (every AIQ_SOURCES__PROFILE_SECONDS, 15 min by default)."""

from __future__ import annotations

from aiqleads.db.engine import transaction
from aiqleads.sources import service
from aiqleads.worker import TaskContext, task


@task("sources.profile", every=lambda settings: settings.sources.profile_seconds)
async def profile_sources(ctx: TaskContext) -> None:
    """Profile every active source, store the profiles and export their drift."""
    async with transaction(ctx.sessions) as session:
        reports = await service.refresh(session, now=ctx.clock.now(), settings=ctx.settings.sources)
    service.export(reports)
