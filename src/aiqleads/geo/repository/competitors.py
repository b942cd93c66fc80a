"""Competitors' queries: competitor points around the area, the caller's purchased leads, and
PostGIS's radius counts (ST_DWithin on geography) for a few query points."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlalchemy import Float, Integer, and_, column, func, or_, select, values
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from aiqleads.geo.repository.common import (
    FloatArray,
    IntArray,
    dialect,
    floats,
    ints,
    leads,
    purchases,
)
from aiqleads.kit.distance import EARTH_RADIUS_M
from aiqleads.leads.filters import Area, BBox, LeadFilter
from aiqleads.leads.status import OFFERED
from aiqleads.leads.visibility import (
    Viewer,
    filter_conditions,
    location,
    market_condition,
    mine,
)

_VALUES_CHUNK = 2000  # query points per VALUES list: 3 binds each stays far below asyncpg's 32k


def expand_bounds(
    bounds: tuple[float, float, float, float], radius_m: float
) -> tuple[float, float, float, float]:
    """The box grown by `radius_m` on the sphere, so competitors just outside the area count.

    Latitude grows by the arc radius/R; longitude by the widest degree span that radius can
    reach at the box's most poleward latitude (after growing it), which is a safe superset.
    """
    min_lon, min_lat, max_lon, max_lat = bounds
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    lo_lat, hi_lat = max(-90.0, min_lat - dlat), min(90.0, max_lat + dlat)
    widest = max(abs(lo_lat), abs(hi_lat))
    cos_lat = math.cos(math.radians(widest))
    dlon = 180.0 if cos_lat < 1e-6 else min(180.0, dlat / cos_lat)
    return (max(-180.0, min_lon - dlon), lo_lat, min(180.0, max_lon + dlon), hi_lat)


def _competitor_cond(
    t: Any, viewer: Viewer, f: LeadFilter, *, radius_m: float, dialect: str
) -> ColumnElement[bool]:
    """Competitor points: leads carrying a listing agent or office (sources that publish them),
    and leads other buyers purchased (anonymised); never the caller's own purchases. The area
    grows by the radius, so competitors just outside it count."""
    listed = and_(
        or_(t.c.listing_agent.is_not(None), t.c.listing_office.is_not(None)),
        market_condition(viewer, OFFERED, t),
    )
    others = select(purchases.c.lead_id).where(purchases.c.account_id != viewer.account_id)
    bought_by_others = t.c.id.in_(others)
    if viewer.visible_before is not None:
        bought_by_others = and_(bought_by_others, t.c.published_at <= viewer.visible_before)
    grown = replace(f, area=Area(bbox=BBox(*expand_bounds(f.area.bounds, radius_m))))
    return and_(
        or_(listed, bought_by_others),
        ~mine(t, viewer.account_id),
        *filter_conditions(viewer, grown, dialect=dialect, t=t),
    )


def _office(t: Any) -> ColumnElement[str | None]:
    return func.coalesce(t.c.listing_office, t.c.listing_agent)


@dataclass(frozen=True, slots=True)
class CompetitorPoints:
    """Competitor points, each standing for `count` competitors at the same place (1 each for
    exact viewers; for viewers who see preview places, a place's competitors)."""

    lat: FloatArray
    lon: FloatArray
    offices: list[str | None]
    cells: IntArray  # h3 res 8, -1 when unknown
    count: IntArray


async def competitor_points(
    session: AsyncSession, viewer: Viewer, f: LeadFilter, *, radius_m: float
) -> CompetitorPoints:
    """The competitors of the area grown by the radius, at the viewer's locations.

    For viewers who see preview locations (cell centres) the competitors are grouped by place
    and cell in SQL, one point per place with its count: the same points without a row or an
    array entry per lead, and without offices, which agents get from `office_tallies` instead
    (`offices` is then all None).
    """
    cond = _competitor_cond(leads, viewer, f, radius_m=radius_m, dialect=dialect(session))
    loc = location(viewer)
    if not viewer.exact:
        cell = leads.c.h3_r8
        grouped = (
            select(loc.lat, loc.lon, cell, func.count())
            .where(cond)
            .group_by(loc.lat, loc.lon, cell)
            .order_by(loc.lat, loc.lon, cell)
        )
        places = (await session.execute(grouped)).all()
        n = ints(places, 3)
        cells = np.fromiter(
            (-1 if r[2] is None else r[2] for r in places), dtype=np.int64, count=len(places)
        )
        return CompetitorPoints(
            floats(places, 0), floats(places, 1), [None] * len(places), cells, n
        )
    stmt = select(loc.lat, loc.lon, _office(leads), leads.c.h3_r8).where(cond)
    rows = (await session.execute(stmt.order_by(leads.c.id))).all()
    cells = np.fromiter(
        (-1 if r[3] is None else r[3] for r in rows), dtype=np.int64, count=len(rows)
    )
    ones = np.ones(len(rows), dtype=np.int64)
    return CompetitorPoints(floats(rows, 0), floats(rows, 1), [r[2] for r in rows], cells, ones)


async def competitor_cells(
    session: AsyncSession, viewer: Viewer, f: LeadFilter, *, radius_m: float
) -> IntArray:
    """h3 res-8 (preview) cell of every competitor (per-cell intensity on both databases)."""
    cond = _competitor_cond(leads, viewer, f, radius_m=radius_m, dialect=dialect(session))
    rows = (
        await session.execute(select(leads.c.h3_r8).where(cond, leads.c.h3_r8.is_not(None)))
    ).all()
    return ints(rows, 0)


@dataclass(frozen=True, slots=True)
class MyLeads:
    public_ids: list[str]
    lat: FloatArray
    lon: FloatArray
    cells: IntArray


async def my_purchased_leads(session: AsyncSession, viewer: Viewer, f: LeadFilter) -> MyLeads:
    """The caller's purchased leads in the area, at their exact points (the caller bought them;
    status filters do not apply: they are sold)."""
    stmt = (
        select(leads.c.public_id, leads.c.latitude, leads.c.longitude, leads.c.h3_r8)
        .where(
            mine(leads, viewer.account_id),
            leads.c.latitude.is_not(None),
            *filter_conditions(viewer, f, dialect=dialect(session), located=True),
        )
        .order_by(leads.c.id)
    )
    rows = (await session.execute(stmt)).all()
    cells = np.fromiter(
        (-1 if r[3] is None else r[3] for r in rows), dtype=np.int64, count=len(rows)
    )
    return MyLeads([str(r[0]) for r in rows], floats(rows, 1), floats(rows, 2), cells)


@dataclass(frozen=True, slots=True)
class RadiusAnswer:
    count: IntArray
    nearest_m: FloatArray  # inf when no competitor in the search area
    top_offices: list[tuple[str, int]]


async def postgis_competitors(
    session: AsyncSession,
    viewer: Viewer,
    f: LeadFilter,
    *,
    lat: FloatArray,
    lon: FloatArray,
    radius_m: float,
    top_n: int,
) -> RadiusAnswer:
    """Counts with ST_DWithin, nearest with the KNN operator, both on geography.

    Distances are to the viewer's locations of the competitors (preview cells for agents).
    `use_spheroid => false` measures on the sphere of PostGIS's mean radius (6,371,008.77 m),
    the same great circle the Python path uses (6,371,008.8 m: 5 micrometres apart at 1 km),
    so both paths agree on every count. The geography expression matches the GiST indexes
    `ix_leads_geog` / `ix_leads_preview_geog`. Top offices are only for exact viewers (empty
    for agents, as on the Python path).
    """
    c = leads.alias("c")
    cond = _competitor_cond(c, viewer, f, radius_m=radius_m, dialect=dialect(session))
    cg = location(viewer, c).geog
    count = np.zeros(lat.size, dtype=np.int64)
    nearest = np.full(lat.size, np.inf)
    near_offices: dict[int, str] = {}  # competitor id -> office, within the radius of any point
    for start in range(0, lat.size, _VALUES_CHUNK):
        stop = min(start + _VALUES_CHUNK, lat.size)
        q = values(column("i", Integer), column("lat", Float), column("lon", Float), name="q").data(
            [(i, float(lat[i]), float(lon[i])) for i in range(start, stop)]
        )
        qg = func.geography(func.ST_SetSRID(func.ST_MakePoint(q.c.lon, q.c.lat), 4326))
        within = func.ST_DWithin(cg, qg, radius_m, False)
        n = select(func.count()).select_from(c).where(cond, within).scalar_subquery()
        d = (
            select(func.ST_Distance(cg, qg, False))
            .select_from(c)
            .where(cond)
            .order_by(cg.op("<->")(qg))
            .limit(1)
            .scalar_subquery()
        )
        for i, k, dist in (await session.execute(select(q.c.i, n, d))).all():
            count[i] = k
            nearest[i] = np.inf if dist is None else dist
        if not viewer.exact:
            continue  # agents' offices are tallied over whole regions (`office_tallies`)
        office = _office(c)
        named = (
            select(c.c.id, office).select_from(c.join(q, within)).where(cond, office.is_not(None))
        )
        near_offices.update((int(i), str(o)) for i, o in (await session.execute(named)).all())
    tally = Counter(near_offices.values())
    top = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n] if top_n > 0 else []
    return RadiusAnswer(count, nearest, top)


async def office_tallies(
    session: AsyncSession, viewer: Viewer, regions: Sequence[int]
) -> list[tuple[int, str, int]]:
    """(resolution-7 region, office, listings) of every listed lead on the market in the
    regions, whatever the caller's filters (`geo.disclosure.regional_offices`); the caller's own
    purchases are not competition. Answered from the index `ix_leads_office_region`, a scan of
    every lead of the regions: the answer reads the same counts from the office tallies
    (`tallies.tallied_offices`), which are tested against this definition."""
    out: list[tuple[int, str, int]] = []
    office = _office(leads)
    listed = or_(leads.c.listing_agent.is_not(None), leads.c.listing_office.is_not(None))
    ordered = sorted(set(regions))
    for start in range(0, len(ordered), _VALUES_CHUNK):
        chunk = ordered[start : start + _VALUES_CHUNK]
        stmt = (
            select(leads.c.h3_r7, office, func.count())
            .where(
                listed,
                market_condition(viewer, OFFERED),
                ~mine(leads, viewer.account_id),
                leads.c.h3_r7.in_(chunk),
            )
            .group_by(leads.c.h3_r7, office)
        )
        out += [(int(r[0]), str(r[1]), int(r[2])) for r in await session.execute(stmt)]
    return out
