"""The visible lead points of a filter, for the algorithms that work on points, each at the
location the viewer may use (exact for admins, the preview cell's centre for agents).
PostgreSQL sends them through binary COPY; SQLite through ordinary rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Float, Select, case, cast, func, literal, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from aiqleads.geo.repository.binary_copy import copy_numeric
from aiqleads.geo.repository.common import (
    FloatArray,
    IntArray,
    dialect,
    floats,
    ints,
    is_postgis,
    leads,
)
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.scores import BUCKET_MIDPOINT
from aiqleads.leads.visibility import Viewer, location, visible_leads
from aiqleads.models.enums import LeadStatus


@dataclass(frozen=True, slots=True)
class LeadPoints:
    """Visible leads of a filter, ordered by id (so labels are reproducible)."""

    ids: IntArray
    lat: FloatArray
    lon: FloatArray
    price: FloatArray  # asking price in USD, NaN when unknown
    score: FloatArray  # NaN when unscored; for agents the middle of the score's bucket


def score_for(viewer: Viewer) -> ColumnElement[Any]:
    """The score a viewer's aggregates may use: exact for admins, the bucket's midpoint for
    agents (an aggregate of exact scores would give a single lead's score away)."""
    if viewer.exact:
        exact: ColumnElement[Any] = leads.c.score
        return exact
    return case(
        *((leads.c.score_bucket == label, literal(mid)) for label, mid in BUCKET_MIDPOINT.items()),
        else_=None,
    )


EXACT = "exact"


def points_stmt(
    session: AsyncSession,
    viewer: Viewer,
    f: LeadFilter,
    statuses: Sequence[LeadStatus],
    *extra: Any,
    exact_only: bool = False,
) -> Select[Any]:
    """The visible points; with `exact_only`, only leads whose point is the source's own (a
    lead known only to its ZIP stands at the ZIP's centroid, which is no place of its own)."""
    loc = location(viewer)
    cols = (leads.c.id, loc.lat, loc.lon, leads.c.asking_price_cents, score_for(viewer))
    conds = visible_leads(viewer, f, statuses, dialect=dialect(session), located=True)
    if exact_only:
        conds.append(leads.c.geocode_precision == EXACT)
    return select(*cols, *extra).where(*conds).order_by(leads.c.id)


async def approximate_count(
    session: AsyncSession, viewer: Viewer, f: LeadFilter, statuses: Sequence[LeadStatus]
) -> int:
    """How many of the visible located leads stand at an approximate point (a ZIP centroid)."""
    conds = visible_leads(viewer, f, statuses, dialect=dialect(session), located=True)
    stmt = select(func.count()).where(*conds, leads.c.geocode_precision != EXACT)
    return int((await session.execute(stmt)).scalar_one())


def _lead_points(rows: Sequence[Any]) -> LeadPoints:
    return LeadPoints(
        ints(rows, 0),
        floats(rows, 1),
        floats(rows, 2),
        floats(rows, 3) / 100.0,
        floats(rows, 4),
    )


async def points(
    session: AsyncSession,
    viewer: Viewer,
    f: LeadFilter,
    statuses: Sequence[LeadStatus],
    *,
    exact_only: bool = False,
) -> LeadPoints:
    stmt = points_stmt(session, viewer, f, statuses, exact_only=exact_only)
    if is_postgis(session):
        return await _points_by_copy(session, stmt)
    return _lead_points((await session.execute(stmt)).all())


def copyable(stmt: Select[Any]) -> Select[Any]:
    """The points statement with NULL prices and scores as NaN, so every field is fixed width."""
    nan: ColumnElement[float] = literal_column("'NaN'::float8")
    cols = list(stmt.selected_columns)
    cols[3] = func.coalesce(cast(leads.c.asking_price_cents, Float) / 100.0, nan)
    cols[4] = func.coalesce(cast(cols[4], Float), nan)
    return stmt.with_only_columns(*cols)


@dataclass(frozen=True, slots=True)
class PlacedPoints:
    """Visible leads with exact locations grouped by the preview cell they stand at (viewers who
    see preview places: every lead stands at its cell's centre), places in order of their first
    lead by id, so that anything numbered by first lead (DBSCAN's clusters) numbers alike over
    places and leads."""

    lat: FloatArray  # per place: the preview cell's centre, degrees
    lon: FloatArray
    cells: IntArray  # per place: the H3 resolution-8 cell
    count: IntArray  # per place: leads
    price: FloatArray  # per lead, by id: asking price in USD, NaN when unknown
    place: IntArray  # per lead, by id: index of its place
    approximate: int  # visible located leads left out: their point is approximate (a ZIP's)

    @property
    def n_leads(self) -> int:
        return int(self.place.size)


_APPROXIMATE = -2  # the cell column's value for a lead at an approximate point


async def placed_points(
    session: AsyncSession, viewer: Viewer, f: LeadFilter, statuses: Sequence[LeadStatus]
) -> PlacedPoints:
    """`points(..., exact_only=True)` for a viewer who sees preview places, grouped by place,
    with `approximate_count` read in the same scan: per lead only its cell and price cross the
    wire and stay in memory (at 1M leads the per-lead points, their clustering and summaries
    took 180 MB and 2.7 s of CPU). Raises ValueError for an exact viewer.

    The preview point is the centre of the stored `h3_r8` cell (both are written together by
    `leads.writes.derived_location`), so the cell identifies the place; should a preview point
    ever differ from its cell's centre, places are told apart by their coordinates instead."""
    if viewer.exact:
        raise ValueError("exact viewers' points are the leads' own")
    loc = location(viewer)
    cell = case(
        (leads.c.geocode_precision == EXACT, func.coalesce(leads.c.h3_r8, -1)),
        else_=_APPROXIMATE,
    )
    price: ColumnElement[Any] = cast(leads.c.asking_price_cents, Float) / 100.0
    conds = visible_leads(viewer, f, statuses, dialect=dialect(session), located=True)
    if is_postgis(session):
        nan: ColumnElement[float] = literal_column("'NaN'::float8")
        stmt = select(cell, loc.lat, loc.lon, func.coalesce(price, nan))
        fields = [("cell", "i8"), ("lat", "f8"), ("lon", "f8"), ("price", "f8")]
        c = await copy_numeric(session, stmt.where(*conds).order_by(leads.c.id), fields)
        cells, lat, lon, prices = c["cell"], c["lat"], c["lon"], c["price"]
    else:
        stmt = select(cell, loc.lat, loc.lon, price)
        rows = (await session.execute(stmt.where(*conds).order_by(leads.c.id))).all()
        cells, lat, lon, prices = ints(rows, 0), floats(rows, 1), floats(rows, 2), floats(rows, 3)
    exact = cells != _APPROXIMATE
    approximate = int(cells.size - np.count_nonzero(exact))
    if approximate:
        cells, lat, lon, prices = cells[exact], lat[exact], lon[exact], prices[exact]
    first, inverse, counts = _groups(cells)
    if not (np.array_equal(lat, lat[first][inverse]) and np.array_equal(lon, lon[first][inverse])):
        _, first, inverse, counts = np.unique(
            np.column_stack((lat, lon)),
            axis=0,
            return_index=True,
            return_inverse=True,
            return_counts=True,
        )
        inverse = inverse.reshape(-1)
    by_first = np.argsort(first, kind="stable")
    rank = np.empty(by_first.size, dtype=np.int64)
    rank[by_first] = np.arange(by_first.size, dtype=np.int64)
    leaders = first[by_first]
    return PlacedPoints(
        lat[leaders],
        lon[leaders],
        cells[leaders],
        counts[by_first].astype(np.int64),
        prices,
        rank[inverse],
        approximate,
    )


def _groups(values: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """(first index, group of each value, size) of each distinct value, groups ascending: what
    `np.unique(values, return_index=True, return_inverse=True, return_counts=True)` returns
    beside the values, from an unstable sort (its stable one took 2.4 times as long at 1M)."""
    if values.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    perm = values.argsort(kind="quicksort")
    ordered = values[perm]
    change = np.empty(values.size, dtype=bool)
    change[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, values.size))
    inverse = np.empty(values.size, dtype=np.int64)
    inverse[perm] = np.repeat(np.arange(starts.size, dtype=np.int64), counts)
    first: IntArray = np.minimum.reduceat(perm, starts)  # a group's sorted slice is unordered
    return first, inverse, counts


async def _points_by_copy(session: AsyncSession, stmt: Select[Any]) -> LeadPoints:
    fields = [("id", "i8"), ("lat", "f8"), ("lon", "f8"), ("price", "f8"), ("score", "f8")]
    c = await copy_numeric(session, copyable(stmt), fields)
    return LeadPoints(c["id"], c["lat"], c["lon"], c["price"], c["score"])
