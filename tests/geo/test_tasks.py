"""geo.compact_tallies folds every metro's tally rows into one per key, sums unchanged."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.geo.repository.tallies import tallies
from aiqleads.geo.tasks import compact_tallies
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.worker.context import TaskContext
from tests.factories import insert_leads, lead_row, make_account, record_purchase


async def _sums(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[int, dict[tuple[str, str], int]]:
    t = tallies.c
    async with sessions() as s:
        rows = await s.scalar(select(func.count()).select_from(tallies))
        sums = (
            await s.execute(
                select(t.metro, t.status, func.sum(t.leads)).group_by(t.metro, t.status)
            )
        ).all()
    return int(rows or 0), {(m, st): int(n) for m, st, n in sums if int(n)}


async def test_compaction_task_keeps_every_metros_sums(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    task_ctx: TaskContext,
) -> None:
    # Given leads in two metros, some sold one by one (one tally row per change)
    now = clock.now()
    rows = [lead_row(settings, cipher, now=now) for _ in range(6)]
    rows += [
        lead_row(settings, cipher, now=now, latitude=36.17, longitude=-115.14, zip_code="89101")
        for _ in range(4)
    ]
    await insert_leads(sessions, rows)
    me = await make_account(sessions, now=now)
    for r in (rows[0], rows[1], rows[6]):
        await record_purchase(sessions, lead_public_id=r["public_id"], account=me, now=now)
    before_rows, before = await _sums(sessions)

    # When the task runs, twice
    await compact_tallies(task_ctx)
    after_rows, after = await _sums(sessions)
    await compact_tallies(task_ctx)

    # Then the rows are fewer, the sums the same, and the second run changed nothing
    assert after == before
    assert {m for m, _ in after} == {"seattle", "las_vegas"}
    assert after_rows < before_rows
    assert await _sums(sessions) == (after_rows, after)
