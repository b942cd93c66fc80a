"""The visible lead points of a filter, for the algorithms that work on points. PostgreSQL
sends them through binary COPY; SQLite through ordinary rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Select, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from aiqleads.geo.filters import LeadFilter, Visibility
from aiqleads.geo.repository.binary_copy import copy_numeric
from aiqleads.geo.repository.common import (
    FloatArray,
    IntArray,
    filter_conds,
    floats,
    ints,
    is_postgis,
    leads,
    visible_cond,
)


@dataclass(frozen=True, slots=True)
class LeadPoints:
    """Visible leads of a filter, ordered by id (so labels are reproducible)."""

    ids: IntArray
    lat: FloatArray
    lon: FloatArray
    price: FloatArray  # asking price in USD, NaN when unknown
    score: FloatArray  # NaN when unscored


def points_stmt(f: LeadFilter, vis: Visibility, *extra: Any) -> Select[Any]:
    cols = (leads.c.id, leads.c.latitude, leads.c.longitude, leads.c.asking_price_cents)
    return (
        select(*cols, leads.c.score, *extra)
        .where(visible_cond(leads, f.statuses, vis), *filter_conds(leads, f))
        .order_by(leads.c.id)
    )


def _lead_points(rows: Sequence[Any]) -> LeadPoints:
    return LeadPoints(
        ints(rows, 0),
        floats(rows, 1),
        floats(rows, 2),
        floats(rows, 3) / 100.0,
        floats(rows, 4),
    )


async def points(session: AsyncSession, f: LeadFilter, vis: Visibility) -> LeadPoints:
    if is_postgis(session):
        return await _points_by_copy(session, f, vis)
    return _lead_points((await session.execute(points_stmt(f, vis))).all())


async def _points_by_copy(session: AsyncSession, f: LeadFilter, vis: Visibility) -> LeadPoints:
    # NULL prices and scores become NaN in SQL, so every field is fixed width.
    nan: ColumnElement[float] = literal_column("'NaN'::float8")
    stmt = (
        select(
            leads.c.id,
            leads.c.latitude,
            leads.c.longitude,
            func.coalesce(cast(leads.c.asking_price_cents, Float) / 100.0, nan),
            func.coalesce(leads.c.score, nan),
        )
        .where(visible_cond(leads, f.statuses, vis), *filter_conds(leads, f))
        .order_by(leads.c.id)
    )
    fields = [("id", "i8"), ("lat", "f8"), ("lon", "f8"), ("price", "f8"), ("score", "f8")]
    c = await copy_numeric(session, stmt, fields)
    return LeadPoints(c["id"], c["lat"], c["lon"], c["price"], c["score"])
