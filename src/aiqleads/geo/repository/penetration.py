"""Penetration's queries: offered leads by region (H3 cell or ZIP), marketplace status, and
"bought by me".

A lead's status here is its marketplace status: `sold` only when a buyer bought it on the
marketplace; a listing its source reports closed (status sold, no purchase) counts as `closed`,
which is not part of the supply penetration measures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from aiqleads.geo.repository.common import (
    H3_COLUMNS,
    FloatArray,
    IntArray,
    dialect,
    floats,
    ints,
    leads,
    purchases,
)
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.visibility import Viewer, location, market_leads
from aiqleads.models.enums import LeadStatus


@dataclass(frozen=True, slots=True)
class StatusGroups:
    """Grouped rows (region key, status, bought by me) with their lead counts."""

    keys: list[Any]
    statuses: list[str]
    mine: NDArray[np.bool_]
    count: IntArray


def _mine_flag(account_id: int) -> ColumnElement[int]:
    return case((purchases.c.account_id == account_id, 1), else_=0)


def _market_status() -> ColumnElement[str]:
    # The stored status, not the effective one: a lapsed hold is labelled "held" here where
    # other readers say "available", but penetration counts both alike (geo.penetration's
    # OPEN_STATUSES), so no answer changes, and without `held_until` the grouping is answered
    # from the covering index (SQLite) instead of from every row. Which leads count is still
    # decided on effective statuses, by `market_leads`.
    return case(
        (purchases.c.lead_id.is_not(None), LeadStatus.SOLD.value),
        (leads.c.status == LeadStatus.SOLD.value, "closed"),
        else_=leads.c.status,
    )


def _with_purchases(stmt: Select[Any]) -> Select[Any]:
    return stmt.select_from(leads.outerjoin(purchases, purchases.c.lead_id == leads.c.id))


async def _groups(
    session: AsyncSession,
    key: ColumnElement[Any],
    conds: list[ColumnElement[bool]],
    viewer: Viewer,
) -> StatusGroups:
    status, mine = _market_status(), _mine_flag(viewer.account_id)
    stmt = _with_purchases(
        select(key, status, mine, func.count()).where(*conds).group_by(key, status, mine)
    )
    rows = (await session.execute(stmt)).all()
    return StatusGroups(
        [r[0] for r in rows], [r[1] for r in rows], ints(rows, 2).astype(bool), ints(rows, 3)
    )


_CHUNK = 5000  # region keys per IN list: far below SQLite's and asyncpg's bound-parameter limits


async def status_groups_by_cell(
    session: AsyncSession,
    viewer: Viewer,
    f: LeadFilter,
    statuses: Sequence[LeadStatus],
    *,
    res: int,
    only: Sequence[int] | None = None,
) -> StatusGroups:
    """Groups per stored H3 cell of `res`; with `only`, of those cells alone."""
    col = leads.c[H3_COLUMNS[res]]
    # A stored cell is a location (the write path derives cells and the preview centre from
    # one point), so `col IS NOT NULL` keeps only located leads without reading the location
    # columns, and SQLite answers from the covering index of migration 0012. Grouping on
    # `col + 0` keeps SQLite's planner off the h3 index, whose order it would otherwise walk,
    # fetching every row through it (as in `heatmap.cell_groups`).
    conds = market_leads(viewer, f, statuses, dialect=dialect(session), located=False)
    key = col + 0 if dialect(session) == "sqlite" else col
    if only is None:
        return await _groups(session, key, [*conds, col.is_not(None)], viewer)
    keys = sorted(set(only))
    parts = [
        await _groups(session, key, [*conds, col.in_(keys[i : i + _CHUNK])], viewer)
        for i in range(0, len(keys), _CHUNK)
    ]
    return StatusGroups(
        [k for p in parts for k in p.keys],
        [s for p in parts for s in p.statuses],
        np.concatenate([p.mine for p in parts]) if parts else np.empty(0, bool),
        np.concatenate([p.count for p in parts]) if parts else np.empty(0, np.int64),
    )


async def status_groups_by_zcta(
    session: AsyncSession,
    viewer: Viewer,
    f: LeadFilter,
    statuses: Sequence[LeadStatus],
    *,
    zips: Sequence[str],
) -> StatusGroups:
    """Groups keyed by (ZIP, ZCTA) pairs: the ZIP when it is one of `zips` (else None), and
    the stored ZCTA of the lead's exact point (None outside every polygon), in one grouped
    scan. A lead's ZIP region is its ZIP when it has one of `zips`, else its ZCTA.

    The ZCTA comes from the exact point, finer than the preview cell: raises ValueError for a
    viewer who does not see exact points (`Viewer.exact`)."""
    if not viewer.exact:
        raise ValueError("the stored ZCTA is of the exact point: exact viewers only")
    known = leads.c.zip_code.in_(sorted(set(zips)))
    zip_key = case((known, leads.c.zip_code), else_=None)
    status, mine = _market_status(), _mine_flag(viewer.account_id)
    conds = market_leads(viewer, f, statuses, dialect=dialect(session))
    key = [zip_key, leads.c.zcta]
    stmt = _with_purchases(
        select(*key, status, mine, func.count()).where(*conds).group_by(*key, status, mine)
    )
    rows = (await session.execute(stmt)).all()
    return StatusGroups(
        [(r[0], r[1]) for r in rows],
        [r[2] for r in rows],
        ints(rows, 3).astype(bool),
        ints(rows, 4),
    )


@dataclass(frozen=True, slots=True)
class PlacedGroups:
    """Grouped rows (ZIP or place, status, bought by me) with their lead counts: a row has a
    ZIP (one of the asked ones) and no place, or a place (lat, lon; NaN when none) and no ZIP."""

    zips: list[str | None]
    lat: FloatArray
    lon: FloatArray
    statuses: list[str]
    mine: NDArray[np.bool_]
    count: IntArray


async def status_groups_by_zip_or_place(
    session: AsyncSession,
    viewer: Viewer,
    f: LeadFilter,
    statuses: Sequence[LeadStatus],
    *,
    zips: Sequence[str],
) -> PlacedGroups:
    """In one scan, the leads whose ZIP is one of `zips` grouped by ZIP, the others by their
    location (the same regions as grouping by ZIP and placing every other lead by
    point-in-polygon: `tests/geo/zip_oracle.py`).

    Meant for viewers who see preview locations: those are cell centres, so the metro's leads
    fall into a few thousand places, and one grouped scan replaces a scan, a transfer of every
    lead's location and a point-in-polygon test per lead. An exact viewer's places are the
    leads themselves, so grouping them would gain nothing.
    """
    loc = location(viewer)
    known = leads.c.zip_code.in_(sorted(set(zips)))
    zip_key = case((known, leads.c.zip_code), else_=None)
    lat = case((known, None), else_=loc.lat)
    lon = case((known, None), else_=loc.lon)
    status, mine = _market_status(), _mine_flag(viewer.account_id)
    conds = market_leads(viewer, f, statuses, dialect=dialect(session))
    stmt = _with_purchases(
        select(zip_key, lat, lon, status, mine, func.count())
        .where(*conds)
        .group_by(zip_key, lat, lon, status, mine)
    )
    rows = (await session.execute(stmt)).all()
    return PlacedGroups(
        [r[0] for r in rows],
        floats(rows, 1),
        floats(rows, 2),
        [r[3] for r in rows],
        ints(rows, 4).astype(bool),
        ints(rows, 5),
    )
