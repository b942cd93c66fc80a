"""The agent feature set: an agent's own events, batch equal to online, defaults without any."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as event_log
from aiqleads.features.agent import AGENT_FEATURES, agent_features_batch, agent_features_online
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead
from aiqleads.models.enums import EventKind
from tests.factories import insert_leads, lead_row, make_account


async def test_an_agent_s_events_batch_and_online(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given two leads; agent A viewed both today and bought one 10 days ago; agent B did nothing
    now = clock.now()
    await insert_leads(sessions, [lead_row(settings, cipher, now=now) for _ in range(2)])
    async with sessions() as session:
        ids = sorted((await session.execute(select(Lead.id))).scalars())
    a = await make_account(sessions, now=now)
    b = await make_account(sessions, now=now)
    async with transaction(sessions) as session:
        await event_log.append(
            session,
            [
                event_log.event(EventKind.VIEW, account_id=a.id, lead_id=ids[0], at=now),
                event_log.event(
                    EventKind.VIEW, account_id=a.id, lead_id=ids[1], at=now - timedelta(hours=1)
                ),
                event_log.event(
                    EventKind.PURCHASE,
                    account_id=a.id,
                    lead_id=ids[0],
                    at=now - timedelta(days=10),
                ),
            ],
        )
    # When the features are computed in batch and online
    async with sessions() as session:
        batch = await agent_features_batch(session, now, [a.id, b.id], settings=settings.features)
        online_a = await agent_features_online(session, a.id, now, settings=settings.features)
        online_b = await agent_features_online(session, b.id, now, settings=settings.features)
        every = await agent_features_batch(session, now, settings=settings.features)
    # Then A's counts, distinct leads and sessions are its own, and both paths agree
    assert (online_a["views_24h"], online_a["purchases_7d"], online_a["purchases_30d"]) == (2, 0, 1)
    assert (online_a["leads_24h"], online_a["leads_30d"]) == (2, 2)
    assert online_a["sessions"] == 2
    assert online_a["engagement"] == pytest.approx(1 + 0.5 ** (1 / 72) + 8 * 0.5 ** (240 / 72))
    assert batch.row(a.id) == online_a and batch.row(b.id) == online_b
    # And B, without events, has the defaults; a batch of every agent lists those with events
    assert online_b["recency_hours"] == settings.features.horizon_days * 24
    assert all(online_b[n] == 0 for n in AGENT_FEATURES if n != "recency_hours")
    assert every.ids.tolist() == [a.id]
