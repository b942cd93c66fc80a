"""The features.precompute task: the lead_geo set and the context snapshots, as of now."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.features import service
from aiqleads.features.lead import GEO_SET, lead_geo_batch
from aiqleads.features.tasks import precompute
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.market import service as market
from aiqleads.models import Lead
from aiqleads.worker import TaskContext
from tests.factories import insert_leads, lead_row


async def test_precompute_builds_the_geo_set_and_snapshots_each_region(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    task_ctx: TaskContext,
) -> None:
    # Given three leads in ZIP 98101 (Seattle)
    now = clock.now()
    await insert_leads(
        sessions, [lead_row(settings, cipher, now=now, zip_code="98101") for _ in range(3)]
    )
    async with sessions() as session:
        ids = sorted((await session.scalars(select(Lead.id))).all())
    # When the task runs
    await precompute(task_ctx)
    # Then every lead has its geospatial values stored, as computed now
    async with sessions() as session:
        stored = await service.stored(session, GEO_SET, ids)
        computed = await lead_geo_batch(session, ids, settings=settings.features)
        snapshot = await market.context_snapshot(
            session, region_kind="zip", region="98101", now=now
        )
        fresh = await market.market_context(
            session, zip_code="98101", metro=None, month=now.date().replace(day=1), now=now
        )
    assert sorted(stored) == ids
    assert all(stored[i].values == computed.row(i) and stored[i].computed_at == now for i in ids)
    # And the ZIP's context is snapshot as of now
    assert snapshot == fresh


def test_a_precompute_that_failed_waits_for_its_next_period() -> None:
    # A run past its time limit leaves its computing thread running (a thread cannot be
    # cancelled): a retry would compute beside it. The schedule runs it again next period.
    assert precompute.max_retries == 0 and precompute.every is not None
