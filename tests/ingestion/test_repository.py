"""Ingestion's batch lookups against a real database: what each one finds, on both databases."""

from __future__ import annotations

import math

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.conftest import T0
from tests.factories import insert_leads, lead_row

from aiqleads.config import Settings
from aiqleads.db import bulk
from aiqleads.db.engine import transaction
from aiqleads.ingestion import repository
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.distance import haversine_m

Sessions = async_sessionmaker[AsyncSession]
LAT, LON = 47.6062, -122.3321
M_PER_DEG = 111_195.0  # a degree of latitude on the mean sphere, metres


def _north(metres: float) -> float:
    return LAT + metres / M_PER_DEG


def _east(metres: float) -> float:
    return LON + metres / (M_PER_DEG * math.cos(math.radians(LAT)))


async def _near(sessions: Sessions, points: list[tuple[int, float, float]]) -> set[tuple[int, str]]:
    async with transaction(sessions) as session:
        found = await repository.candidates_near(session, points, 30.0)
        postgres = bulk.is_postgres(session)
    refs: set[tuple[int, str]] = set()
    for i, candidate in found:
        lat, lon = candidate.latitude, candidate.longitude
        assert lat is not None and lon is not None
        point = next(p for p in points if p[0] == i)
        # PostgreSQL measures on the spheroid itself; SQLite gives a box the caller narrows
        if postgres or haversine_m(point[1], point[2], lat, lon) < 30.0:
            refs.add((i, f"{lat:.6f},{lon:.6f}"))
    return refs


async def test_leads_near_each_point_within_the_radius_and_exact_only(
    sessions: Sessions, settings: Settings, cipher: FieldCipher
) -> None:
    # Given exact leads 10 m and 25 m north, 28 m east, 40 m north and 45 m east of a point,
    # and a ZIP-centroid lead 5 m away
    spots = {
        "n10": (_north(10), LON, "exact"),
        "n25": (_north(25), LON, "exact"),
        "e28": (LAT, _east(28), "exact"),
        "n40": (_north(40), LON, "exact"),
        "e45": (LAT, _east(45), "exact"),
        "zip5": (_north(5), LON, "zip"),
    }
    rows = [
        lead_row(settings, cipher, now=T0, source_ref=name, latitude=lat, longitude=lon)
        | {"geocode_precision": precision}
        for name, (lat, lon, precision) in spots.items()
    ]
    await insert_leads(sessions, rows, now=T0)
    # When the leads near that point, and near a point 1 km away, are asked for at once
    found = await _near(sessions, [(0, LAT, LON), (1, _north(1000), LON)])
    # Then the exact leads within 30 m of the first point come back, and none for the second
    expected = {(0, f"{spots[k][0]:.6f},{spots[k][1]:.6f}") for k in ("n10", "n25", "e28")}
    assert found == expected


async def test_a_point_by_the_antimeridian_finds_its_neighbour_across_it(
    sessions: Sessions, settings: Settings, cipher: FieldCipher
) -> None:
    # Given an exact lead just west of the antimeridian (Attu, Alaska: 52.9 N, 179.9999 W)
    lon = -179.9999
    row = lead_row(settings, cipher, now=T0, source_ref="attu", latitude=52.9, longitude=lon)
    await insert_leads(sessions, [row], now=T0)
    async with transaction(sessions) as session:
        postgres = bulk.is_postgres(session)
    if not postgres:
        return  # SQLite's degree box stops at the antimeridian, as it always did
    # When the leads near a point 13 m away on the other side (179.9999 E) are asked for
    found = await _near(sessions, [(7, 52.9, 179.9999)])
    # Then the lead across the line is found
    assert found == {(7, f"52.900000,{lon:.6f}")}


async def test_a_point_by_the_pole_finds_its_neighbour_across_it(
    sessions: Sessions, settings: Settings, cipher: FieldCipher
) -> None:
    # Given exact leads 11 m from the North Pole on the meridians 0° and 90° E (16 m apart)
    rows = [
        lead_row(
            settings, cipher, now=T0, source_ref=f"pole-{lon}", latitude=89.9999, longitude=lon
        )
        for lon in (0.0, 90.0)
    ]
    await insert_leads(sessions, rows, now=T0)
    async with transaction(sessions) as session:
        postgres = bulk.is_postgres(session)
    if not postgres:
        return  # SQLite's degree box is clipped at the pole and the antimeridian
    # When the leads near a point 11 m from the pole on the meridian 180° are asked for: both
    # lie within 30 m, across the pole, where no degree box around the point holds them
    found = await _near(sessions, [(3, 89.9999, 180.0)])
    # Then both are found
    assert found == {(3, "89.999900,0.000000"), (3, "89.999900,90.000000")}


async def test_statistics_cover_the_looked_up_columns_and_the_row_count(
    sessions: Sessions, settings: Settings, cipher: FieldCipher
) -> None:
    rows = [lead_row(settings, cipher, now=T0, source_ref=f"s-{n}") for n in range(30)]
    await insert_leads(sessions, rows, now=T0)
    async with transaction(sessions) as session:
        if not bulk.is_postgres(session):
            return  # SQLite plans without them
        # When ingestion refreshes the statistics after a batch
        await repository.refresh_statistics(session)
    async with transaction(sessions) as session:
        counted = await session.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = 'leads'")
        )
        columns = set(
            (
                await session.scalars(
                    text("SELECT attname FROM pg_stats WHERE tablename = 'leads'")
                )
            ).all()
        )
    # Then the planner knows how many leads there are, and how the looked-up columns spread
    assert counted == 30
    assert {"source_ref", "address_key", "owner_phone_hmac", "latitude", "h3_r8"} <= columns
