from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import versions
from aiqleads.models import Lead
from tests.factories import insert_leads, lead_row


async def test_upsert_is_keyed_on_source_and_ref_and_keeps_identity(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a stored lead
    row = lead_row(settings, cipher, now=clock.now(), source_ref="same", asking_price_cents=100)
    await insert_leads(sessions, [row])
    # When the same (source, source_ref) arrives again with a new price and another public id
    again = {
        **row,
        "public_id": lead_row(settings, cipher, now=clock.now())["public_id"],
        "asking_price_cents": 200,
        "status": "withdrawn",
        "first_seen_at": clock.now() + timedelta(days=1),
    }
    await insert_leads(sessions, [again])
    # Then there is still one lead, with the new facts but its first identity and state
    async with sessions() as session:
        leads = (await session.execute(select(Lead))).scalars().all()
    assert len(leads) == 1
    assert leads[0].public_id == row["public_id"]
    assert leads[0].asking_price_cents == 200
    assert leads[0].status == "available"
    assert leads[0].first_seen_at == row["first_seen_at"]
    assert leads[0].metro == "seattle"


async def test_writes_bump_only_their_metro_version(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    async with sessions() as session:
        assert await versions.current(session, "seattle") == 0
    await insert_leads(sessions, [lead_row(settings, cipher, now=clock.now())])
    await insert_leads(
        sessions, [lead_row(settings, cipher, now=clock.now(), latitude=36.17, longitude=-115.14)]
    )  # Las Vegas
    await insert_leads(
        sessions, [lead_row(settings, cipher, now=clock.now(), latitude=36.17, longitude=-115.14)]
    )
    async with transaction(sessions) as session:
        assert await versions.current(session, "seattle") == 1
        assert await versions.current(session, "las_vegas") == 2
        assert await versions.current(session, "phoenix") == 0
        assert await session.scalar(select(func.count()).select_from(Lead)) == 3
