"""The feature store: a build writes every entity once per set and version, a rebuild replaces
its rows, and what is read back is what was computed."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as event_log
from aiqleads.features import repository, service
from aiqleads.features.agent import AGENT_FEATURES_VERSION, agent_features_batch
from aiqleads.features.lead import (
    GEO_SET,
    LEAD_FEATURES,
    LEAD_FEATURES_VERSION,
    lead_features_batch,
    lead_geo_batch,
)
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import FeatureValue, Lead
from aiqleads.models.enums import EventKind
from tests.factories import insert_leads, lead_row, make_account


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(
            (await session.execute(select(func.count()).select_from(FeatureValue))).scalar_one()
        )


async def test_a_build_round_trips_and_a_rebuild_replaces_its_rows(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given three leads, one of them viewed by an agent
    now = clock.now()
    await insert_leads(sessions, [lead_row(settings, cipher, now=now) for _ in range(3)])
    async with sessions() as session:
        ids = sorted((await session.execute(select(Lead.id))).scalars())
    agent = await make_account(sessions, now=now)
    async with transaction(sessions) as session:
        await event_log.append(
            session,
            [event_log.event(EventKind.VIEW, account_id=agent.id, lead_id=ids[0], at=now)],
        )
    # When the lead and agent sets are built
    async with transaction(sessions) as session:
        built = await service.build(session, "lead", now, settings=settings.features)
        agents = await service.build(session, "agent", now, settings=settings.features)
    # Then each lead has one row holding what the batch computes, at the set's version
    assert (built.entities, built.features, built.version) == (
        3,
        len(LEAD_FEATURES),
        LEAD_FEATURES_VERSION,
    )
    assert (agents.entities, agents.version) == (1, AGENT_FEATURES_VERSION)
    async with sessions() as session:
        matrix = await lead_features_batch(session, now, settings=settings.features)
        stored = await service.stored(session, "lead", ids)
        agent_stored = await service.stored(session, "agent", [agent.id])
        agent_matrix = await agent_features_batch(session, now, settings=settings.features)
    assert sorted(stored) == ids
    for lead_id in ids:
        assert stored[lead_id].values == matrix.row(lead_id)
        assert stored[lead_id].computed_at == now
        assert list(stored[lead_id].values) == list(LEAD_FEATURES)
    assert agent_stored[agent.id].values == agent_matrix.row(agent.id)
    assert agent_stored[agent.id].values["views_24h"] == 1
    assert await _rows(sessions) == 4

    # When it is built again at the same time, then a day later
    async with transaction(sessions) as session:
        await service.build(session, "lead", now, settings=settings.features)
    async with sessions() as session:
        again = await service.stored(session, "lead", ids)
    later = now + timedelta(days=1)
    async with transaction(sessions) as session:
        await service.build(session, "lead", later, settings=settings.features)
    # Then the same rows are written the first time (idempotent), replaced the second
    assert again == stored
    assert await _rows(sessions) == 4
    async with sessions() as session:
        newest = await service.stored(session, "lead", ids)
        count = await repository.count(session, feature_set="lead", version=LEAD_FEATURES_VERSION)
    assert count == 3
    assert {v.computed_at for v in newest.values()} == {later}
    assert newest[ids[0]].values["recency_hours"] == 24.0


async def test_a_build_larger_than_one_write_stores_every_lead_once(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given seven leads, and a build that writes two entities' values at a time
    now = clock.now()
    await insert_leads(sessions, [lead_row(settings, cipher, now=now) for _ in range(7)])
    monkeypatch.setattr(service, "_WRITE_ROWS", 2)
    # When the "lead_geo" set is built
    async with transaction(sessions) as session:
        built = await service.build(session, GEO_SET, now, settings=settings.features)
    # Then every lead has its one row, holding what the batch computes
    async with sessions() as session:
        ids = sorted((await session.execute(select(Lead.id))).scalars())
        matrix = await lead_geo_batch(session, settings=settings.features)
        stored = await service.stored(session, GEO_SET, ids)
    assert built.entities == 7 and sorted(stored) == ids
    assert all(stored[i].values == matrix.row(i) for i in ids)
    assert await _rows(sessions) == 7


@pytest.mark.parametrize("page", [1, 3, 6, 7])
async def test_every_lead_is_read_once_page_after_page(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    page: int,
) -> None:
    # Given six leads, one of them off the market, read `page` rows at a time
    now = clock.now()
    rows = [lead_row(settings, cipher, now=now) for _ in range(5)]
    rows.append(lead_row(settings, cipher, now=now, status="withdrawn"))
    await insert_leads(sessions, rows)
    monkeypatch.setattr(repository, "PAGE", page)
    async with sessions() as session:
        ids = sorted((await session.execute(select(Lead.id))).scalars())
        # When every lead's places, and the market's, are read
        every = await repository.lead_places(session, None)
        market = await repository.market(session)
        # Then they are those read by id, in id order, each once
        by_id = await repository.lead_places(session, ids)
        on_market = select(Lead.id).where(Lead.status != "withdrawn").order_by(Lead.id)
        offered = list((await session.execute(on_market)).scalars())
        # (and the points a metro's clusters are made of, the same read whole)
        scope = market.scope[0]
        paged = await repository.scope_points(session, scope)
        monkeypatch.setattr(repository, "PAGE", 1_000)
        whole = await repository.scope_points(session, scope)
    assert every.ids.tolist() == ids == by_id.ids.tolist()
    np.testing.assert_array_equal(every.lat, by_id.lat)
    assert every.kind == by_id.kind and every.scope == by_id.scope
    assert market.ids.tolist() == offered and len(offered) == 5 and len(market.kind) == 5
    assert paged[0].size == 5 and all(map(np.array_equal, paged, whole))


async def test_another_version_keeps_its_own_row_and_the_latest_is_read(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given values of lead 7 at version "0" yesterday and version "1" now
    now = clock.now()
    async with transaction(sessions) as session:
        for version, at in (("0", now - timedelta(days=1)), ("1", now)):
            await repository.upsert(
                session,
                entity_kind="lead",
                feature_set="lead",
                version=version,
                computed_at=at,
                rows={7: {"x": float(version)}},
            )
    # When read with and without a version
    async with sessions() as session:
        any_version = await repository.latest(
            session, entity_kind="lead", feature_set="lead", entity_ids=[7, 8]
        )
        old = await service.stored(session, "lead", [7], version="0")
    # Then both rows are kept; the latest is the newest, a named version is that version's
    assert any_version[7].values == {"x": 1.0} and 8 not in any_version
    assert old[7].values == {"x": 0.0} and old[7].version == "0"
    assert await _rows(sessions) == 2


async def test_unknown_sets_and_entity_kinds_are_refused(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessions() as session:
        with pytest.raises(ValueError, match="unknown feature set"):
            await service.build(session, "zip", clock.now())
        with pytest.raises(ValueError, match="entity_kind"):
            await repository.upsert(
                session,
                entity_kind="zip",
                feature_set="x",
                version="1",
                computed_at=clock.now(),
                rows={1: {}},
            )
