"""GET /api/v1/geo/competitors against brute force, and PostGIS against the Python path."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.geo.filters import Area, LeadFilter, Visibility
from aiqleads.geo.projection import haversine_m
from aiqleads.geo.service.competitors_answer import competitor_counts
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.metros import get_metro
from tests.conftest import Backend
from tests.factories import insert_leads, lead_row, make_account, record_purchase
from tests.geo.api_helpers import agent, geo
from tests.geo.leads_data import king_county_rows, load

OFFICES = ["Windermere", "Redfin", "Compass", "John L. Scott", "Keller Williams"]


async def test_competitors_match_brute_force(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    shared_data: Path,
) -> None:
    # Given real sales, a fifth listed by a brokerage, some bought by me and some by others
    now = clock.now()
    rng = random.Random(7)
    rows = king_county_rows(shared_data, settings, cipher, now=now, every=10)
    for r in rows:
        if rng.random() < 0.2:
            r["listing_office"] = rng.choice(OFFICES)
    await load(sessions, rows)
    me, headers = await agent(client, sessions, clock)
    other = await make_account(sessions, now=now)
    mine, theirs = rows[:40:4], rows[41:240:3]
    for r in mine:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=me, now=now)
    for r in theirs:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=other, now=now)

    # When my competitors within 1.5 km are asked for
    body = await geo(client, "competitors", headers, metro="seattle", radius_m=1500)

    # Then every count, nearest distance and the top brokerages match brute force
    my_ids = {r["public_id"] for r in mine}
    their_ids = {r["public_id"] for r in theirs}
    comps = [
        r
        for r in rows
        if r["public_id"] not in my_ids and (r["listing_office"] or r["public_id"] in their_ids)
    ]
    c_lat = np.array([r["latitude"] for r in comps])
    c_lon = np.array([r["longitude"] for r in comps])
    leads = {
        f["properties"]["lead_id"]: f
        for f in body["features"]
        if f["properties"]["layer"] == "lead"
    }
    assert len(leads) == len(mine)
    near_any: set[int] = set()
    for r in mine:
        d = haversine_m(r["latitude"], r["longitude"], c_lat, c_lon)
        props = leads[str(r["public_id"])]["properties"]
        assert props["competitors"] == int(np.count_nonzero(d <= 1500))
        assert props["nearest_m"] == pytest.approx(float(d.min()), abs=1e-3)
        near_any.update(np.flatnonzero(d <= 1500).tolist())
    tally = Counter(comps[i]["listing_office"] for i in near_any if comps[i]["listing_office"])
    expected_top = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(t["office"], t["count"]) for t in body["top_offices"]] == expected_top
    cells = [f for f in body["features"] if f["properties"]["layer"] == "cell"]
    assert sum(f["properties"]["competitors"] for f in cells) == len(comps)
    assert sum(f["properties"]["my_leads"] for f in cells) == len(mine)


async def test_competitors_around_a_given_point(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    now = clock.now()
    near = lead_row(
        settings, cipher, now=now, latitude=47.6101, longitude=-122.3301, listing_office="Redfin"
    )
    far = lead_row(
        settings, cipher, now=now, latitude=47.70, longitude=-122.30, listing_agent="A. Agent"
    )
    plain = lead_row(settings, cipher, now=now, latitude=47.6102, longitude=-122.3302)
    await insert_leads(sessions, [near, far, plain])
    _, headers = await agent(client, sessions, clock)

    body = await geo(
        client, "competitors", headers, metro="seattle", radius_m=500, lat=47.61, lon=-122.33
    )

    [point] = [f for f in body["features"] if f["properties"]["layer"] == "lead"]
    assert point["properties"]["competitors"] == 1
    expected = float(haversine_m(47.61, -122.33, 47.6101, -122.3301))
    assert point["properties"]["nearest_m"] == pytest.approx(expected, abs=1e-3)
    assert body["top_offices"] == [{"office": "Redfin", "count": 1}]


async def test_postgis_radius_path_matches_the_python_path(
    backend: Backend,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    shared_data: Path,
) -> None:
    if backend.name != "postgres":
        pytest.skip("ST_DWithin needs PostGIS")
    rng = random.Random(11)
    rows = king_county_rows(shared_data, settings, cipher, now=clock.now(), every=5)
    for r in rows:
        r["listing_office"] = rng.choice(OFFICES) if rng.random() < 0.5 else None
    await load(sessions, rows)
    me = await make_account(sessions, now=clock.now())
    filt = LeadFilter(area=Area(metro=get_metro("seattle")))
    vis = Visibility(me.id, None, f"account:{me.id}")
    q = rows[::97]
    lat = np.array([r["latitude"] for r in q])
    lon = np.array([r["longitude"] for r in q])
    async with sessions() as session:
        answers = [
            await competitor_counts(
                session,
                filt,
                vis,
                account_id=me.id,
                lat=lat,
                lon=lon,
                radius_m=800.0,
                top_n=5,
                use_postgis=flag,
            )
            for flag in (True, False)
        ]
    (sql, sql_cells), (py, py_cells) = answers
    assert sql.count.tolist() == py.count.tolist()
    assert sql.count.sum() > 0
    np.testing.assert_allclose(sql.nearest_m, py.nearest_m, atol=1e-3)
    assert sql.top_offices == py.top_offices
    assert sorted(sql_cells.tolist()) == sorted(py_cells.tolist())
