"""The lead feature set on stored leads: geospatial values on placed leads, defaults for a
new or lone lead, behaviour from the event log, and batch equal to online for every lead."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
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
from aiqleads.features.geospatial import GEO_NAMES
from aiqleads.features.lead import (
    GEO_SET,
    LEAD_FEATURES,
    UnknownLead,
    lead_features_batch,
    lead_features_online,
)
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead
from aiqleads.models.enums import EventKind
from tests.factories import insert_leads, lead_row, make_account

LAT0, LON0 = 47.6062, -122.3321  # Seattle
M_PER_DEG_LAT = 111_195.0  # the mean Earth radius' degree


def _at(north_m: float, east_m: float) -> dict[str, float]:
    return {
        "latitude": LAT0 + north_m / M_PER_DEG_LAT,
        "longitude": LON0 + east_m / (M_PER_DEG_LAT * math.cos(math.radians(LAT0))),
    }


async def _ids(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(select(Lead.source_ref, Lead.id))
        return {ref: lead_id for ref, lead_id in rows}


async def _online(
    sessions: async_sessionmaker[AsyncSession],
    lead_id: int,
    now: datetime,
    s: FeatureSettings,
) -> dict[str, float]:
    async with sessions() as session:
        return await lead_features_online(session, lead_id, now, settings=s)


async def test_geospatial_values_of_placed_leads(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given, around A (for sale, $500k): B 150 m north ($400k, a listing office), F 100 m south
    # ($700k), D 200 m east (a rent at a ZIP centroid), E 100 m west but withdrawn (not on the
    # market), and C 5 km north (a listing agent)
    now = clock.now()

    def row(ref: str, north: float, east: float, **kw: Any) -> dict[str, Any]:
        return lead_row(settings, cipher, now=now, source_ref=ref, **_at(north, east), **kw)

    await insert_leads(
        sessions,
        [
            row("A", 0, 0, asking_price_cents=50_000_000),
            row("B", 150, 0, asking_price_cents=40_000_000, listing_office="Acme Realty"),
            row("F", -100, 0, asking_price_cents=70_000_000),
            row(
                "D",
                0,
                200,
                kind="for_rent",
                asking_price_cents=300_000,
                price_period="month",
                geocode_precision="zip_centroid",
            ),
            row("E", 0, -100, status="withdrawn"),
            row("C", 5000, 0, listing_agent="Jo Broker"),
        ],
    )
    ids = await _ids(sessions)
    s = FeatureSettings(cluster_min_samples=3)
    # When A's, B's and C's features are computed
    a = await _online(sessions, ids["A"], now, s)
    b = await _online(sessions, ids["B"], now, s)
    c = await _online(sessions, ids["C"], now, s)
    # Then A has B, F and D within 1 km (not E: off the market; not C: 5 km), one competitor
    assert a["leads_nearby"] == 3
    assert a["competitors_nearby"] == 1
    # And its comparables are the other sales of its cell and ring: median of $400k and $700k
    assert a["nbhd_comparables"] == 2
    assert a["nbhd_median_price_usd"] == 550_000.0
    assert a["price_vs_nbhd"] == pytest.approx(500 / 550 - 1)
    # And one of the three market leads near it stands at an approximate point
    assert a["approx_location_share"] == pytest.approx(1 / 3)
    # And A sits in the cluster of A, B, D, F (4 points within 250 m), near its centre
    assert a["cluster_distance_km"] < 0.15
    # B is a competitor but not its own
    assert b["competitors_nearby"] == 0
    # C is 5 km from that cluster's centre (which is 12.5 m north of A), alone in its area
    assert c["cluster_distance_km"] == pytest.approx(4.9875, abs=0.01)
    assert (c["leads_nearby"], c["competitors_nearby"], c["nbhd_comparables"]) == (0, 0, 0)


async def test_a_new_lone_lead_without_events_has_defined_values(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given one lead, published now, with no events, no neighbours, no price and no listing date
    now = clock.now()
    await insert_leads(
        sessions,
        [
            lead_row(
                settings,
                cipher,
                now=now,
                source_ref="lone",
                asking_price_cents=None,
                listed_at=None,
                published_at=now,
            )
        ],
    )
    lead_id = (await _ids(sessions))["lone"]
    # When its features are computed
    v = await _online(sessions, lead_id, now, settings.features)
    # Then every value is finite, and the documented defaults hold
    assert list(v) == list(LEAD_FEATURES)
    assert all(math.isfinite(x) for x in v.values())
    assert v["recency_hours"] == settings.features.horizon_days * 24
    assert v["engagement"] == v["sessions"] == v["views_30d"] == 0
    assert v["cluster_distance_km"] == settings.features.far_km
    assert v["leads_nearby"] == v["nbhd_comparables"] == v["price_vs_nbhd"] == 0
    assert v["has_asking_price"] == v["log_asking_price"] == v["listed_at_known"] == 0
    assert v["days_published"] == 0


async def test_a_lead_without_a_point_has_defined_values(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given a lead the geocoder could not place, beside a placed one
    now = clock.now()
    await insert_leads(
        sessions,
        [
            lead_row(
                settings,
                cipher,
                now=now,
                source_ref="nowhere",
                latitude=None,
                longitude=None,
                geocode_precision="none",
            ),
            lead_row(settings, cipher, now=now, source_ref="here", **_at(0, 0)),
        ],
    )
    ids = await _ids(sessions)
    # When its features are computed, online and in batch
    v = await _online(sessions, ids["nowhere"], now, settings.features)
    async with sessions() as session:
        batch = await lead_features_batch(session, now, settings=settings.features)
    # Then they are the defaults, and the same both ways
    assert v["exact_location"] == v["leads_nearby"] == v["approx_location_share"] == 0
    assert v["cluster_distance_km"] == settings.features.far_km
    assert batch.row(ids["nowhere"]) == v


async def test_behaviour_comes_from_the_lead_s_events_up_to_now(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given a lead viewed by two agents today, held by one 4 days ago, and viewed after `now`
    now = clock.now()
    await insert_leads(sessions, [lead_row(settings, cipher, now=now, source_ref="x")])
    lead_id = (await _ids(sessions))["x"]
    one = await make_account(sessions, now=now)
    two = await make_account(sessions, now=now)
    async with transaction(sessions) as session:
        await event_log.append(
            session,
            [
                event_log.event(EventKind.VIEW, account_id=one.id, lead_id=lead_id, at=now),
                event_log.event(
                    EventKind.VIEW, account_id=two.id, lead_id=lead_id, at=now - timedelta(hours=2)
                ),
                event_log.event(
                    EventKind.HOLD, account_id=one.id, lead_id=lead_id, at=now - timedelta(days=4)
                ),
                event_log.event(
                    EventKind.VIEW, account_id=two.id, lead_id=lead_id, at=now + timedelta(hours=1)
                ),
            ],
        )
    # When its features are computed at `now`
    v = await _online(sessions, lead_id, now, settings.features)
    # Then the later view is not seen; the rest are counted, decayed and split into sessions
    assert (v["views_24h"], v["holds_24h"], v["holds_7d"]) == (2, 0, 1)
    assert v["agents_24h"] == 2
    assert v["engagement"] == pytest.approx(1 + 0.5 ** (2 / 72) + 4 * 0.5 ** (96 / 72))
    assert v["sessions"] == 2  # 94 h between the hold and the next view
    assert v["recency_hours"] == 0


async def test_an_unknown_lead_is_refused(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, settings: Settings
) -> None:
    async with sessions() as session:
        with pytest.raises(UnknownLead):
            await lead_features_online(session, 999_999, clock.now(), settings=settings.features)


async def test_batch_and_online_give_identical_values_for_every_lead(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given 120 leads within 3 km (kinds, prices, offices, statuses, precisions and missing
    # points mixed, seeded) and 600 events by 4 agents over 40 days, some after `now`
    now = clock.now()
    rng = random.Random(10)
    rows = []
    for n in range(120):
        placed = rng.random() > 0.05
        where = _at(rng.uniform(-1500, 1500), rng.uniform(-1500, 1500)) if placed else {}
        kind = rng.choice(["for_sale", "for_sale", "fsbo", "for_rent", "expired"])
        rows.append(
            lead_row(
                settings,
                cipher,
                now=now,
                source_ref=f"r{n}",
                kind=kind,
                asking_price_cents=None
                if rng.random() < 0.1
                else rng.randrange(200_000 if kind == "for_rent" else 20_000_000, 2 * 10**8)
                // (100 if kind == "for_rent" else 1),
                listing_office=rng.choice([None, None, "Acme", "Zed Homes"]),
                geocode_precision=rng.choice(["exact"] * 4 + ["zip_centroid"])
                if placed
                else "none",
                status=rng.choice(["available"] * 6 + ["sold", "withdrawn", "pending"]),
                listed_at=None if rng.random() < 0.2 else now - timedelta(days=rng.randrange(90)),
                **(where if placed else {"latitude": None, "longitude": None}),
            )
        )
    await insert_leads(sessions, rows)
    ids = sorted((await _ids(sessions)).values())
    agents = [await make_account(sessions, now=now) for _ in range(4)]
    kinds = list(EventKind)
    events = [
        event_log.event(
            rng.choice(kinds),
            account_id=rng.choice([a.id for a in agents] + [None]),
            lead_id=rng.choice(ids),
            at=now - timedelta(hours=rng.uniform(-48, 40 * 24)),
        )
        for _ in range(600)
    ]
    async with transaction(sessions) as session:
        await event_log.append(session, events)
    s = FeatureSettings(cluster_min_samples=4, half_life_hours=36.0)
    # When the batch computes every lead, and the online path each lead alone
    async with sessions() as session:
        batch = await lead_features_batch(session, now, settings=s)
    cache = ClusterCache(eps_m=s.cluster_eps_m, min_samples=s.cluster_min_samples)
    online = []
    for lead_id in ids:
        async with sessions() as session:
            online.append(
                await lead_features_online(session, lead_id, now, settings=s, clusters=cache)
            )
    # Then every value of every lead is identical, and the features vary
    assert batch.ids.tolist() == ids
    assert batch.names == LEAD_FEATURES
    for lead_id, values in zip(ids, online, strict=True):
        assert batch.row(lead_id) == values, lead_id
    assert np.isfinite(batch.values).all()
    varying = {n for j, n in enumerate(LEAD_FEATURES) if np.unique(batch.values[:, j]).size > 1}
    for name in ("leads_nearby", "competitors_nearby", "cluster_distance_km", "price_vs_nbhd"):
        assert name in varying
    assert "engagement" in varying and "sessions" in varying
    # And a batch over some leads gives those leads' rows
    async with sessions() as session:
        some = await lead_features_batch(session, now, ids[:7], settings=s)
    assert some.ids.tolist() == ids[:7]
    assert np.array_equal(some.values, batch.values[:7])


@pytest.mark.parametrize(
    ("a", "b", "radius_m"),
    [
        # 804 m apart across the antimeridian, at the Aleutians' latitude
        ((51.8, 179.9999), (51.8, -179.9884), 1000.0),
        # about 38 km apart near the North Pole: the circle holds the pole
        ((89.5, 0.0), (89.5, 40.0), 50_000.0),
        # and near the South Pole, across the antimeridian too
        ((-89.9, 179.0), (-89.9, -179.0), 1000.0),
    ],
    ids=["antimeridian", "north_pole", "south_pole"],
)
async def test_online_finds_the_neighbours_the_batch_finds_across_the_antimeridian_and_poles(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    a: tuple[float, float],
    b: tuple[float, float],
    radius_m: float,
) -> None:
    # Given two leads within the radius of each other where a degree box cannot hold the circle
    now = clock.now()
    await insert_leads(
        sessions,
        [
            lead_row(settings, cipher, now=now, source_ref="A", latitude=a[0], longitude=a[1]),
            lead_row(
                settings,
                cipher,
                now=now,
                source_ref="B",
                latitude=b[0],
                longitude=b[1],
                listing_office="Acme",
            ),
        ],
    )
    ids = await _ids(sessions)
    s = FeatureSettings(radius_m=radius_m)
    # When A's values are computed in the batch and alone
    async with sessions() as session:
        batch = await lead_features_batch(session, now, settings=s)
        online = await lead_features_online(session, ids["A"], now, settings=s)
    # Then both count B, a listed lead, as a neighbour and a competitor
    assert batch.row(ids["A"]) == online
    assert online["leads_nearby"] == 1 and online["competitors_nearby"] == 1


async def test_stored_geospatial_values_are_read_back_and_a_lead_without_them_is_computed(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given A and B 150 m apart, and the "lead_geo" set built for them
    now = clock.now()

    def row(ref: str, north: float, **kw: Any) -> dict[str, Any]:
        return lead_row(settings, cipher, now=now, source_ref=ref, **_at(north, 0), **kw)

    await insert_leads(
        sessions,
        [row("A", 0, asking_price_cents=50_000_000), row("B", 150, asking_price_cents=40_000_000)],
    )
    s = FeatureSettings(cluster_min_samples=2)
    async with transaction(sessions) as session:
        built = await service.build(session, GEO_SET, now, settings=s)
    assert (built.entities, built.features) == (2, len(GEO_NAMES))
    # And then N, a lead 100 m south of A, comes after the build
    await insert_leads(sessions, [row("N", -100, asking_price_cents=70_000_000)])
    ids = await _ids(sessions)
    # When every lead's features are computed, in batch and online
    async with sessions() as session:
        batch = await lead_features_batch(session, now, settings=s)
    online = {ref: await _online(sessions, i, now, s) for ref, i in ids.items()}
    # Then A and B keep the values of the build (N is not among their neighbours yet), while
    # N's are computed from the market as stored now (A and B within 1 km of it)
    assert online["A"]["leads_nearby"] == 1 and online["B"]["leads_nearby"] == 1
    assert online["A"]["nbhd_median_price_usd"] == 400_000.0
    assert online["N"]["leads_nearby"] == 2
    assert online["N"]["nbhd_median_price_usd"] == 450_000.0
    # And the batch gives the same values as the online path for every lead
    for ref, lead_id in ids.items():
        assert batch.row(lead_id) == online[ref], ref
    # When the set is built again, then A counts N too
    async with transaction(sessions) as session:
        await service.build(session, GEO_SET, now, settings=s)
    again = await _online(sessions, ids["A"], now, s)
    assert again["leads_nearby"] == 2
    assert again["nbhd_median_price_usd"] == 550_000.0
