"""GET /api/v1/geo/competitors against brute force, and PostGIS against the Python path."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from typing import Any

import h3
import httpx
import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.geo.disclosure import distance_band
from aiqleads.geo.projection import haversine_m
from aiqleads.geo.service.competitors_answer import competitor_counts
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.distance import EARTH_RADIUS_M
from aiqleads.kit.h3cells import cell_center, cells_for
from aiqleads.leads.filters import Area, LeadFilter
from aiqleads.leads.visibility import Viewer
from aiqleads.metros import get_metro
from aiqleads.models.enums import Role, Tier
from tests.conftest import Backend
from tests.factories import insert_leads, lead_row, login, make_account, record_purchase
from tests.geo.api_helpers import agent, geo
from tests.geo.leads_data import king_county_rows, load

OFFICES = ["Windermere", "Redfin", "Compass", "John L. Scott", "Keller Williams"]


def _regional_tally(
    rows: list[dict[str, Any]],
    my_ids: set[Any],
    mine: list[dict[str, Any]],
    *,
    radius_m: float,
    k: int,
) -> Counter[str]:
    """Brute force of an agent's office tally: every resolution-7 cell whose centre lies within
    the radius plus 1.2 of the cell's average edge of one of my leads, and in each such cell
    every office with at least k listings there (all the cell's listings, whatever filters)."""
    edge = h3.average_hexagon_edge_length(7, unit="m")
    centres = {
        c: h3.cell_to_latlng(c)
        for c in {
            h3.cell_to_parent(h3.latlng_to_cell(r["latitude"], r["longitude"], 8), 7) for r in rows
        }
    }
    reach = {
        c
        for c, (la, lo) in centres.items()
        if any(
            haversine_m(m["latitude"], m["longitude"], la, lo) <= radius_m + 1.2 * edge
            for m in mine
        )
    }
    per_region: Counter[tuple[str, str]] = Counter(
        (
            h3.cell_to_parent(h3.latlng_to_cell(r["latitude"], r["longitude"], 8), 7),
            r["listing_office"],
        )
        for r in rows
        if r["listing_office"] and r["public_id"] not in my_ids
    )
    tally: Counter[str] = Counter()
    for (cell, office), n in per_region.items():
        if cell in reach and n >= k:
            tally[office] += n
    return tally


def _preview(r: dict[str, Any]) -> tuple[float, float]:
    return cell_center(cells_for(r["latitude"], r["longitude"])[1])


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AGENT])
async def test_competitors_match_brute_force(
    role: Role,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given real sales, a fifth listed by a brokerage, some bought by me and some by others
    now = clock.now()
    rng = random.Random(7)
    rows = king_county_rows(settings, cipher, now=now, every=10)
    for r in rows:
        if rng.random() < 0.2:
            r["listing_office"] = rng.choice(OFFICES)
    await load(sessions, rows)
    me = await make_account(sessions, now=now, role=role)
    headers = await login(client, me.email)
    other = await make_account(sessions, now=now)
    mine, theirs = rows[:40:4], rows[41:240:3]
    for r in mine:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=me, now=now)
    for r in theirs:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=other, now=now)

    # When my competitors within 1.5 km are asked for
    body = await geo(client, "competitors", headers, metro="seattle", radius_m=1500)

    # Then every count, nearest distance and the top brokerages match brute force: over the
    # exact points for an admin; for an agent over the competitors' preview cells, with
    # distances in bands and counts and offices under 5 withheld
    exact, k = role is Role.ADMIN, 1 if role is Role.ADMIN else 5
    my_ids = {r["public_id"] for r in mine}
    their_ids = {r["public_id"] for r in theirs}
    comps = [
        r
        for r in rows
        if r["public_id"] not in my_ids and (r["listing_office"] or r["public_id"] in their_ids)
    ]
    where = [(r["latitude"], r["longitude"]) if exact else _preview(r) for r in comps]
    c_lat = np.array([p[0] for p in where])
    c_lon = np.array([p[1] for p in where])
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
        n = int(np.count_nonzero(d <= 1500))
        assert props["competitors"] == (n if n >= k else None)
        if exact:
            assert props["nearest_m"] == pytest.approx(float(d.min()), abs=1e-3)
        else:
            assert "nearest_m" not in props
            # (the band only beside a count it may show: a band alone says one is near)
            band = distance_band(float(d.min())) if n >= k else None
            assert props["nearest_band"] == band
        near_any.update(np.flatnonzero(d <= 1500).tolist())
    if exact:  # an admin's offices: those of the competitors within the radius
        tally = Counter(comps[i]["listing_office"] for i in near_any if comps[i]["listing_office"])
    else:  # an agent's: whole resolution-7 regions the circles reach, 5 or more per region
        tally = _regional_tally(rows, my_ids, mine, radius_m=1500, k=k)
    top = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert body["top_offices"] == [{"office": o, "count": n} for o, n in top]
    if not exact:
        assert all(n >= k for _, n in top)
    cells = [f["properties"] for f in body["features"] if f["properties"]["layer"] == "cell"]
    per_cell = Counter(cells_for(r["latitude"], r["longitude"])[1] for r in comps)
    for c in cells:
        n = per_cell.get(h3.str_to_int(c["cell"]), 0)
        assert c["competitors"] == (n if n >= k else None)
    assert sum(c["my_leads"] for c in cells) == len(mine)
    # and an agent's layer draws a cell for a count it may show, or for its own leads only
    if not exact:
        mine_cells = {cells_for(r["latitude"], r["longitude"])[1] for r in mine}
        drawn = {h3.str_to_int(c["cell"]) for c in cells}
        shown = {cell for cell, n in per_cell.items() if n >= k}
        assert shown - mine_cells <= drawn <= shown | mine_cells


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

    # Then an agent learns only that fewer than 5 compete: no band (it would say that one is
    # near), a cell only for the point it asked about (with no count) and no office at all
    # (one listing is not a group)
    [point, *cells] = [f["properties"] for f in body["features"]]
    assert point == {"layer": "lead", "lead_id": None, "competitors": None, "nearest_band": None}
    asked = h3.int_to_str(cells_for(47.61, -122.33)[1])
    assert [(c["cell"], c["competitors"]) for c in cells] == [(asked, None)]
    assert body["top_offices"] == []
    assert "Redfin" not in json.dumps(body)


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "preview"])
async def test_postgis_radius_path_matches_the_python_path(
    exact: bool,
    backend: Backend,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    if backend.name != "postgres":
        pytest.skip("ST_DWithin needs PostGIS")
    rng = random.Random(11)
    rows = king_county_rows(settings, cipher, now=clock.now(), every=5)
    for r in rows:
        r["listing_office"] = rng.choice(OFFICES) if rng.random() < 0.5 else None
    await load(sessions, rows)
    me = await make_account(sessions, now=clock.now())
    filt = LeadFilter(area=Area(metro=get_metro("seattle")))
    viewer = Viewer(me.id, exact, Tier.ENTERPRISE, None, 0, clock.now())
    q = rows[::97]
    lat = np.array([r["latitude"] for r in q])
    lon = np.array([r["longitude"] for r in q])
    async with sessions() as session:
        answers = [
            await competitor_counts(
                session,
                viewer,
                filt,
                lat=lat,
                lon=lon,
                radius_m=800.0,
                top_n=5,
                use_postgis=flag,
            )
            for flag in (True, False)
        ]
    (sql, sql_cells, sql_n), (py, py_cells, py_n) = answers
    assert sql.count.tolist() == py.count.tolist()
    assert sql.count.sum() > 0
    np.testing.assert_allclose(sql.nearest_m, py.nearest_m, atol=1e-3)
    assert sql.top_offices == py.top_offices
    assert sorted(np.repeat(sql_cells, sql_n).tolist()) == sorted(
        np.repeat(py_cells, py_n).tolist()
    )


async def test_postgis_nearest_is_the_sphere_nearest_not_the_planar_one(
    backend: Backend,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # At 47.6° N a degree of longitude is 0.67 of a degree of latitude: 0.0100° east is nearer
    # on the sphere (750 m) than 0.0090° north (1,000 m), which is nearer in degrees. The
    # geometry index's nearest (in degrees) is the northern one; the answer must be the eastern.
    if backend.name != "postgres":
        pytest.skip("PostGIS's path")
    lat0, lon0 = 47.6, -122.3
    north = (lat0 + 0.0090, lon0)
    east = (lat0, lon0 + 0.0100)
    # And one just inside the radius in each direction of the box's corners and edges, one just
    # outside: the count's box must hold the circle.
    radius_m = 1200.0
    ring = []
    for bearing in range(0, 360, 45):
        for metres in (radius_m - 0.5, radius_m + 0.5):
            ring.append(_destination(lat0, lon0, bearing, metres))
    rows = [
        lead_row(settings, cipher, now=clock.now(), latitude=la, longitude=lo, listing_office=o)
        for (la, lo), o in [(north, "North"), (east, "East"), *((p, "Ring") for p in ring)]
    ]
    await load(sessions, rows)
    me = await make_account(sessions, now=clock.now())
    viewer = Viewer(me.id, True, Tier.ENTERPRISE, None, 0, clock.now())
    filt = LeadFilter(area=Area(metro=get_metro("seattle")))
    lat, lon = np.array([lat0]), np.array([lon0])
    async with sessions() as session:
        answers = [
            (
                await competitor_counts(
                    session,
                    viewer,
                    filt,
                    lat=lat,
                    lon=lon,
                    radius_m=radius_m,
                    top_n=5,
                    use_postgis=flag,
                )
            )[0]
            for flag in (True, False)
        ]
    sql, py = answers
    assert sql.nearest_m[0] == pytest.approx(haversine_m(lat0, lon0, *east), abs=0.01)
    assert sql.nearest_m[0] == pytest.approx(py.nearest_m[0], abs=1e-3)
    assert sql.count.tolist() == py.count.tolist() == [2 + 8]  # north, east, the inner ring


def _destination(lat: float, lon: float, bearing_deg: float, metres: float) -> tuple[float, float]:
    """The point `metres` from (lat, lon) along the initial bearing, on the sphere of
    `haversine_m` (the direct geodesic problem on a sphere, Williams' Aviation Formulary)."""
    phi, lam, theta, delta = (
        math.radians(lat),
        math.radians(lon),
        math.radians(bearing_deg),
        metres / EARTH_RADIUS_M,
    )
    phi2 = math.asin(
        math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta)
    )
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi),
        math.cos(delta) - math.sin(phi) * math.sin(phi2),
    )
    return math.degrees(phi2), math.degrees(lam2)
