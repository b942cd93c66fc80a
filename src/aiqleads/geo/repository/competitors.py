"""Competitors' queries: competitor points around the area, the caller's purchased leads, and
PostGIS's radius counts and nearest (ST_DWithin and ST_Distance on geography, among the
candidates of a geometry index) for a few query points."""

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
    Location,
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
) -> tuple[IntArray, IntArray]:
    """(h3 res-8 (preview) cells, competitors in each), ascending by cell: the per-cell
    intensity on both databases. Counted in SQL: at 1M leads in one metro the competitors' cells
    one row each were ~500k rows to send and turn into an array (0.5-1.1 s, bench/geo.py), the
    counts a few thousand."""
    cond = _competitor_cond(leads, viewer, f, radius_m=radius_m, dialect=dialect(session))
    stmt = (
        select(leads.c.h3_r8, func.count())
        .where(cond, leads.c.h3_r8.is_not(None))
        .group_by(leads.c.h3_r8)
        .order_by(leads.c.h3_r8)
    )
    rows = (await session.execute(stmt)).all()
    return ints(rows, 0), ints(rows, 1)


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
    """Counts within `radius_m` and the nearest competitor of each query point, on PostGIS.

    Distances are to the viewer's locations of the competitors (preview cells for agents),
    measured on geography with `use_spheroid => false`: the sphere of PostGIS's mean radius
    (6,371,008.77 m), the same great circle the Python path uses (6,371,008.8 m: 5 micrometres
    apart at 1 km), so both paths agree on every count. The candidates come from the geometry
    GiST index (`ix_leads_geom` / `ix_leads_preview_geom`, migration 0041 dropped the geography
    ones): a count searches the degree box that holds the circle (`sphere_box`); the nearest is
    the planar nearest (KNN `<->` on geometry, degrees) unless a point of the box that holds
    the circle through it is nearer on the sphere, which a second search of that box settles.
    Top offices are only for exact viewers (empty for agents, as on the Python path).
    """
    c = leads.alias("c")
    cond = _competitor_cond(c, viewer, f, radius_m=radius_m, dialect=dialect(session))
    loc = location(viewer, c)
    count = np.zeros(lat.size, dtype=np.int64)
    nearest = np.full(lat.size, np.inf)
    near_offices: dict[int, str] = {}  # competitor id -> office, within the radius of any point
    for start in range(0, lat.size, _VALUES_CHUNK):
        chunk = range(start, min(start + _VALUES_CHUNK, lat.size))
        q = _boxed_points(lat, lon, chunk, [radius_m] * len(chunk))
        within = and_(loc.geom.op("&&")(q.box), func.ST_DWithin(loc.geog, q.geog, radius_m, False))
        n = select(func.count()).select_from(c).where(cond, within).scalar_subquery()
        planar = (
            select(func.ST_Distance(loc.geog, q.geog, False))
            .select_from(c)
            .where(cond)
            .order_by(loc.geom.op("<->")(q.geom))
            .limit(1)
            .scalar_subquery()
        )
        bound: dict[int, float] = {}
        for i, k, dist in (await session.execute(select(q.values.c.i, n, planar))).all():
            count[i] = k
            if dist is not None:
                bound[i] = dist
        if bound:
            nearest[list(bound)] = await _nearest_within(session, c, cond, loc, lat, lon, bound)
        if not viewer.exact:
            continue  # agents' offices are tallied over whole regions (`office_tallies`)
        office = _office(c)
        named = (
            select(c.c.id, office)
            .select_from(c.join(q.values, within))
            .where(cond, office.is_not(None))
        )
        near_offices.update((int(i), str(o)) for i, o in (await session.execute(named)).all())
    tally = Counter(near_offices.values())
    top = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n] if top_n > 0 else []
    return RadiusAnswer(count, nearest, top)


def sphere_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) in degrees holding every point within `radius_m`
    of (lat, lon) on the sphere, for a search of a geometry index: `expand_bounds` of the point,
    with a metre and a millionth to spare for PostGIS's radius (6,371,008.77 m, where ours is
    6,371,008.8 m) and rounding. Clipped, as `expand_bounds` is, at the poles and at ±180°."""
    return expand_bounds((lon, lat, lon, lat), radius_m * (1 + 1e-6) + 1.0)


@dataclass(frozen=True, slots=True)
class _BoxedPoints:
    values: Any  # VALUES (i, lat, lon, min_lon, min_lat, max_lon, max_lat) AS q
    geom: ColumnElement[Any]
    geog: ColumnElement[Any]
    box: ColumnElement[Any]


def _boxed_points(
    lat: FloatArray, lon: FloatArray, indices: Sequence[int], radii_m: Sequence[float]
) -> _BoxedPoints:
    names = ("lat", "lon", "min_lon", "min_lat", "max_lon", "max_lat")
    rows = [
        (i, float(lat[i]), float(lon[i]), *sphere_box(float(lat[i]), float(lon[i]), r))
        for i, r in zip(indices, radii_m, strict=True)
    ]
    q = values(column("i", Integer), *(column(name, Float) for name in names), name="q").data(rows)
    geom = func.ST_SetSRID(func.ST_MakePoint(q.c.lon, q.c.lat), 4326)
    box = func.ST_MakeEnvelope(q.c.min_lon, q.c.min_lat, q.c.max_lon, q.c.max_lat, 4326)
    return _BoxedPoints(q, geom, func.geography(geom), box)


async def _nearest_within(
    session: AsyncSession,
    c: Any,
    cond: ColumnElement[bool],
    loc: Location,
    lat: FloatArray,
    lon: FloatArray,
    bound: dict[int, float],
) -> list[float]:
    """The sphere distance (m) to the nearest competitor of each query point in `bound`, given
    an upper bound on it (point index -> metres: the distance to the planar nearest, which is
    a competitor): the nearest lies in the box holding the circle of that radius."""
    q = _boxed_points(lat, lon, list(bound), list(bound.values()))
    d = (
        select(func.min(func.ST_Distance(loc.geog, q.geog, False)))
        .select_from(c)
        .where(cond, loc.geom.op("&&")(q.box))
        .scalar_subquery()
    )
    found = {
        int(i): float(dist)
        for i, dist in (await session.execute(select(q.values.c.i, d))).all()
        if dist is not None
    }
    # The planar nearest lies in its own box, so each box holds at least it: the bound is
    # only kept against rounding.
    return [min(bound[i], found.get(i, bound[i])) for i in bound]


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
