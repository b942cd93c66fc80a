"""The per-process cache of competition counts per res-8 cell."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as event_log
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead
from aiqleads.models.enums import EventKind
from aiqleads.recommend import repository
from aiqleads.recommend.competition import CompetitionCache
from tests.factories import insert_leads, lead_row, make_account


async def _hold(
    sessions: async_sessionmaker[AsyncSession], account_id: int, lead_id: int, clock: FrozenClock
) -> None:
    async with transaction(sessions) as session:
        await event_log.append(
            session,
            [
                event_log.event(
                    EventKind.HOLD,
                    account_id=account_id,
                    lead_id=lead_id,
                    at=clock.now() - timedelta(hours=1),
                )
            ],
        )


async def test_counts_are_read_once_then_kept_until_the_ttl_passes(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given two leads in two cells, one held once
    now = clock.now()
    await insert_leads(
        sessions,
        [
            lead_row(settings, cipher, now=now, latitude=47.61, longitude=-122.33),
            lead_row(settings, cipher, now=now, latitude=47.68, longitude=-122.30),
        ],
        now=now,
    )
    async with transaction(sessions) as session:
        leads = (await session.execute(select(Lead.id, Lead.h3_r8).order_by(Lead.id))).all()
    (first, cell_a), (_, cell_b) = leads
    assert cell_a is not None and cell_b is not None and cell_a != cell_b
    agent = await make_account(sessions, now=now)
    await _hold(sessions, agent.id, first, clock)
    cache = CompetitionCache(60)

    # When the counts are asked, then they are the repository's, every cell named (0 if none)
    async with transaction(sessions) as session:
        assert await cache.counts(session, [cell_a, cell_b], now=clock.now()) == {
            cell_a: 1,
            cell_b: 0,
        }
        expected = await repository.competition(
            session, [cell_a, cell_b], since=now - timedelta(days=30), until=now
        )
    assert expected == {cell_a: 1}
    assert len(cache) == 1  # the market's cells with a hold or purchase

    # When another hold comes within the TTL, then the kept counts answer, for any cell
    await _hold(sessions, agent.id, first, clock)
    clock.advance(timedelta(seconds=59))
    async with transaction(sessions) as session:
        assert await cache.counts(session, [cell_a], now=clock.now()) == {cell_a: 1}
        assert await cache.counts(session, [cell_b], now=clock.now()) == {cell_b: 0}

    # When the TTL has passed, then the counts are read again, as the repository counts them
    clock.advance(timedelta(seconds=1))
    async with transaction(sessions) as session:
        assert await cache.counts(session, [cell_a, cell_b], now=clock.now()) == {
            cell_a: 2,
            cell_b: 0,
        }
        whole = await repository.competition_by_cell(
            session, since=clock.now() - timedelta(days=30), until=clock.now()
        )
    assert whole == {cell_a: 2}

    # And a clock set back before the read reads them again
    await _hold(sessions, agent.id, first, clock)
    clock.advance(timedelta(seconds=-1))
    async with transaction(sessions) as session:
        assert await cache.counts(session, [cell_a], now=clock.now()) == {cell_a: 3}


async def test_a_ttl_of_zero_reads_every_time_and_a_negative_one_is_refused(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a cache that keeps nothing
    cache = CompetitionCache(0)

    # When asked, then it answers (0 for an empty cell) and keeps nothing
    async with transaction(sessions) as session:
        assert await cache.counts(session, [613_196_570_331_971_583], now=clock.now()) == {
            613_196_570_331_971_583: 0
        }
    assert len(cache) == 0

    # And a negative TTL is refused with its reason
    with pytest.raises(ValueError, match="ttl_seconds"):
        CompetitionCache(-1)
