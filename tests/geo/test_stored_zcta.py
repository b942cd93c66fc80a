"""Re-deriving the stored ZCTAs (`aiqleads geo rederive-zcta`, migration 0040's backfill)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.geo.stored_zcta import rederive_all
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import versions
from aiqleads.models import Lead
from tests.factories import insert_leads, lead_row
from tests.geo.repository.test_tallies import _agree


async def test_rederiving_fixes_stale_zctas_keeps_the_tallies_and_bumps_the_metro(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given located leads whose stored ZCTAs are stale (as after a ZIP file changed): one
    # wrong, one missing, one set though its point is in no ZCTA; and an unlocated lead
    now = clock.now()
    points = [(47.6101, -122.3301), (47.66, -122.38), (47.60, -122.45), (47.6115, -122.337)]
    rows = [lead_row(settings, cipher, now=now, latitude=a, longitude=o) for a, o in points]
    rows.append(lead_row(settings, cipher, now=now, latitude=None, longitude=None))
    await insert_leads(sessions, rows)
    refs = [r["source_ref"] for r in rows]
    stale = {refs[0]: "98104", refs[1]: None, refs[2]: "98101"}
    async with transaction(sessions) as s:
        for ref, z in stale.items():
            await s.execute(update(Lead).where(Lead.source_ref == ref).values(zcta=z))
        version = await versions.current(s, "seattle")

    # When they are derived again, two leads a round
    changed = await rederive_all(sessions, now=now, chunk=2)

    # Then the three stale ones changed, in Seattle, and each has its point's ZCTA
    assert changed == {"seattle": 3}
    async with sessions() as s:
        found = {r[0]: r[1] for r in await s.execute(select(Lead.source_ref, Lead.zcta))}
        assert await versions.current(s, "seattle") > version
    assert [found[r] for r in refs] == ["98101", "98107", None, "98101", None]
    # And the tallies followed every change, and a second run changes nothing
    await _agree(sessions)
    assert await rederive_all(sessions, now=now) == {}
