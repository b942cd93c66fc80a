"""The lead_market feature set on stored leads and events: the market columns and the
interactions by hand, a lead without a ZIP (its metro's context) or without any region (the
defaults), and batch equal to online for every lead."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import FeatureSettings, Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as event_log
from aiqleads.features import service
from aiqleads.features.clusters import ClusterCache
from aiqleads.features.lead import LEAD_FEATURES, UnknownLead
from aiqleads.features.lead_market import (
    INTERACTION_FEATURES,
    LEAD_MARKET_FEATURES,
    MARKET_FEATURES,
    ContextCache,
    assemble,
    lead_market_features_batch,
    lead_market_features_online,
    region_context,
)
from aiqleads.kit.crypto import FieldCipher
from aiqleads.market import service as market
from aiqleads.market.indicators import DEFAULTS
from aiqleads.market.service import market_context
from aiqleads.models import Lead
from aiqleads.models.enums import EventKind
from tests.conftest import T0
from tests.factories import insert_leads, lead_row, make_account

KC = "king_county_sales"
NOW = T0  # 2026-06-01 12:00 UTC: the month of the context is June 2026


async def _ids(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(select(Lead.source_ref, Lead.id))
        return {ref: lead_id for ref, lead_id in rows}


async def _online(
    sessions: async_sessionmaker[AsyncSession], lead_id: int, s: FeatureSettings
) -> dict[str, float]:
    async with sessions() as session:
        return await lead_market_features_online(session, lead_id, NOW, settings=s)


async def _plant(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher
) -> dict[str, int]:
    """ZIP 98101: two recorded sales (May 10 at $400k, June 1 at $440k), lead L (viewed twice
    and held once by one agent in the last 7 days) and lead S, sold. ZIP 98102: one lead in
    Seattle. "nozip": a Seattle lead without a ZIP; "nowhere": no ZIP and no point."""

    def row(ref: str, **kw: Any) -> dict[str, Any]:
        return lead_row(settings, cipher, now=NOW, source_ref=ref, **kw)

    await insert_leads(
        sessions,
        [
            row(
                "may",
                source=KC,
                listed_at=datetime(2026, 5, 10, tzinfo=UTC),
                asking_price_cents=40_000_000,
            ),
            row(
                "june",
                source=KC,
                listed_at=datetime(2026, 6, 1, tzinfo=UTC),
                asking_price_cents=44_000_000,
            ),
            row("L", asking_price_cents=45_000_000),
            row("S", status="sold"),
            row("other", zip_code="98102"),
            row("nozip", zip_code=None),
            row(
                "nowhere",
                zip_code=None,
                latitude=None,
                longitude=None,
                geocode_precision="none",
            ),
        ],
        now=NOW,
    )
    ids = await _ids(sessions)
    agent = await make_account(sessions, now=NOW)
    async with transaction(sessions) as session:
        await event_log.append(
            session,
            [
                event_log.event(
                    EventKind.VIEW,
                    account_id=agent.id,
                    lead_id=ids["L"],
                    at=NOW - timedelta(hours=h),
                )
                for h in (1, 30)
            ]
            + [
                event_log.event(
                    EventKind.HOLD,
                    account_id=agent.id,
                    lead_id=ids["L"],
                    at=NOW - timedelta(hours=2),
                )
            ],
        )
    return ids


async def test_market_columns_and_interactions_by_hand(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher
) -> None:
    # Given the planted ZIPs and lead L's events
    ids = await _plant(sessions, settings, cipher)
    # When L's features are computed
    v = await _online(sessions, ids["L"], settings.features)
    # Then the first columns are the lead set's, and its ZIP's market follows
    assert list(v) == list(LEAD_MARKET_FEATURES)
    assert (v["views_7d"], v["views_30d"], v["holds_30d"]) == (2, 2, 1)
    # The ZIP's sales went from $400k (May) to $440k (June): a slope of ln(1.1) a month
    trend = math.log(1.1)
    assert v["market_price_trend_12m"] == pytest.approx(trend)
    assert v["market_price_trend_3m"] == pytest.approx(trend)
    # 4 leads in 98101, S sold: a quarter sold; 3 on the market per the one agent who held
    assert v["market_share_sold"] == pytest.approx(0.25)
    assert v["market_listings_per_buying_agent"] == pytest.approx(3.0)
    # 2 views and 1 hold over 4 leads in the last 30 days
    assert v["market_views_per_lead"] == pytest.approx(0.5)
    assert v["market_holds_per_lead"] == pytest.approx(0.25)
    assert v["market_sale_to_list"] == 1.0  # no Redfin series: the default
    # And each interaction is its stated product or difference
    assert v["views_7d_x_price_trend_12m"] == pytest.approx(2 * trend)
    assert v["engagement_x_share_sold"] == pytest.approx(v["engagement"] * 0.25)
    assert v["engagement"] > 0
    assert v["holds_30d_x_listings_per_buying_agent"] == pytest.approx(3.0)
    assert v["price_vs_nbhd_x_price_trend_12m"] == pytest.approx(v["price_vs_nbhd"] * trend)
    assert v["price_vs_nbhd"] != 0
    assert v["views_30d_vs_market"] == pytest.approx(1.5)
    assert v["holds_30d_vs_market"] == pytest.approx(0.75)


async def test_a_lead_without_a_zip_takes_its_metro_and_one_without_a_region_the_defaults(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher
) -> None:
    # Given the planted leads (all placed in Seattle but "nowhere")
    ids = await _plant(sessions, settings, cipher)
    # When the lead without a ZIP and the lead without any region are computed
    nozip = await _online(sessions, ids["nozip"], settings.features)
    nowhere = await _online(sessions, ids["nowhere"], settings.features)
    # Then the first has the Seattle metro's context: its 7 leads, S sold
    async with sessions() as session:
        metro = await market_context(
            session, zip_code=None, metro="seattle", month=NOW.date().replace(day=1), now=NOW
        )
    assert metro["leads"] == 6  # every placed lead: "nowhere" stands in no metro
    for name in MARKET_FEATURES:
        assert nozip[name] == metro[name.removeprefix("market_")], name
    assert nozip["market_share_sold"] == pytest.approx(1 / 6)
    # And the second the defaults, never NaN
    assert all(math.isfinite(x) for x in nowhere.values())
    for name in MARKET_FEATURES:
        assert nowhere[name] == DEFAULTS[name.removeprefix("market_")], name
    assert nowhere["views_30d_vs_market"] == 0


async def test_an_unknown_lead_is_refused(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessions() as session:
        with pytest.raises(UnknownLead):
            await lead_market_features_online(session, 999_999, NOW, settings=settings.features)


def test_assemble_refuses_shapes_that_do_not_fit() -> None:
    ids = np.array([1, 2], dtype=np.int64)
    with pytest.raises(ValueError, match="do not fit"):
        assemble(ids, np.zeros((2, len(LEAD_FEATURES))), [dict.fromkeys(DEFAULTS, 0.0)])


async def test_batch_and_online_give_identical_values_for_every_lead(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher
) -> None:
    # Given 80 leads over 4 ZIPs (some without a ZIP, some without a point), recorded sales
    # over 14 months, mixed statuses, and 400 events by 3 agents over 40 days, some after now
    rng = random.Random(8)
    rows = []
    for n in range(80):
        placed = rng.random() > 0.1
        sale = rng.random() < 0.3
        rows.append(
            lead_row(
                settings,
                cipher,
                now=NOW,
                source_ref=f"r{n}",
                source=KC if sale else "test",
                zip_code=rng.choice(["98101", "98102", "98103", "98104", None]),
                asking_price_cents=rng.randrange(30_000_000, 90_000_000),
                status=rng.choice(["available"] * 5 + ["sold", "withdrawn"]),
                listed_at=NOW - timedelta(days=rng.randrange(420)),
                **(
                    {"latitude": 47.6 + rng.uniform(-0.02, 0.02), "longitude": -122.33}
                    if placed
                    else {"latitude": None, "longitude": None, "geocode_precision": "none"}
                ),
            )
        )
    await insert_leads(sessions, rows, now=NOW)
    ids = sorted((await _ids(sessions)).values())
    agents = [await make_account(sessions, now=NOW) for _ in range(3)]
    kinds = [EventKind.VIEW, EventKind.VIEW, EventKind.HOLD, EventKind.PURCHASE]
    events = [
        event_log.event(
            rng.choice(kinds),
            account_id=rng.choice(agents).id,
            lead_id=rng.choice(ids),
            at=NOW - timedelta(hours=rng.uniform(-48, 40 * 24)),
        )
        for _ in range(400)
    ]
    async with transaction(sessions) as session:
        await event_log.append(session, events)
    s = FeatureSettings(cluster_min_samples=4)
    # When the batch computes every lead, and the online path each lead alone
    async with sessions() as session:
        batch = await lead_market_features_batch(session, NOW, settings=s)
    cache = ClusterCache(eps_m=s.cluster_eps_m, min_samples=s.cluster_min_samples)
    for lead_id in ids:
        async with sessions() as session:
            online = await lead_market_features_online(
                session, lead_id, NOW, settings=s, clusters=cache
            )
        # Then every value of every lead is identical
        assert batch.row(lead_id) == online, lead_id
    assert batch.ids.tolist() == ids
    assert batch.names == LEAD_MARKET_FEATURES
    # And the market and interaction columns vary between leads
    varying = {n for j, n in enumerate(batch.names) if np.unique(batch.values[:, j]).size > 1}
    for name in ("market_share_sold", "market_price_trend_12m", *INTERACTION_FEATURES):
        assert name in varying, name
    # And a batch over some leads gives those leads' rows
    async with sessions() as session:
        some = await lead_market_features_batch(session, NOW, ids[:5], settings=s)
    assert np.array_equal(some.values, batch.values[:5])


async def test_the_stored_snapshots_are_read_by_both_paths_and_agree_with_the_store(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher
) -> None:
    # Given the planted ZIPs, their contexts snapshot an hour before NOW and the "lead_geo"
    # set built then
    ids = await _plant(sessions, settings, cipher)
    taken = NOW - timedelta(hours=1)
    s = settings.features
    async with transaction(sessions) as session:
        await market.store_contexts(session, now=taken)
        await service.build(session, "lead_geo", taken, settings=s)
    # And another view of L, logged after the snapshot
    agent = await make_account(sessions, now=NOW)
    async with transaction(sessions) as session:
        await event_log.append(
            session,
            [
                event_log.event(
                    EventKind.VIEW,
                    account_id=agent.id,
                    lead_id=ids["L"],
                    at=NOW - timedelta(minutes=10),
                )
            ],
        )
    # When every lead's set is computed at NOW, in batch, online and by a store build
    async with transaction(sessions) as session:
        built = await service.build(session, "lead_market", NOW, settings=s)
    async with sessions() as session:
        batch = await lead_market_features_batch(session, NOW, settings=s)
        stored = await service.stored(session, "lead_market", sorted(ids.values()))
        snapshot = await region_context(session, ("zip", "98101"), NOW)
        fresh = await market_context(
            session, zip_code="98101", metro=None, month=NOW.date().replace(day=1), now=NOW
        )
    online = {ref: await _online(sessions, i, s) for ref, i in ids.items()}
    # Then L's behaviour counts the new view, but its market columns are the snapshot's
    # (3 views over 4 leads recomputed now; the snapshot counted 1 of them, an hour before)
    assert online["L"]["views_30d"] == 3
    assert fresh["views_per_lead"] == pytest.approx(0.75)
    assert snapshot["views_per_lead"] == online["L"]["market_views_per_lead"] == 0.25
    assert all(online["L"][f"market_{k}"] == v for k, v in snapshot.items())
    # And batch, online and the store give identical values for every lead
    assert built.entities == len(ids)
    for ref, lead_id in ids.items():
        assert batch.row(lead_id) == online[ref] == stored[lead_id].values, ref
    # When the online path keeps the snapshots it reads, asked twice
    cache = ContextCache()
    kept = []
    for _ in range(2):
        async with sessions() as session:
            kept.append(
                await lead_market_features_online(
                    session, ids["L"], NOW, settings=s, contexts=cache
                )
            )
    # Then it gives the same values
    assert kept == [online["L"], online["L"]]
    # When a new snapshot is taken (counting the late view), then the kept one is not served
    async with transaction(sessions) as session:
        await market.store_contexts(session, now=NOW - timedelta(minutes=5))
    async with sessions() as session:
        newer = await lead_market_features_online(
            session, ids["L"], NOW, settings=s, contexts=cache
        )
    assert newer["market_views_per_lead"] == pytest.approx(0.75)  # all 3 views by then
    assert newer == await _online(sessions, ids["L"], s)
