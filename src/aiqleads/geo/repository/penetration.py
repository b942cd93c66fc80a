"""Penetration's queries: offered leads by region key, status and "bought by me"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import BigInteger, Select, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from aiqleads.geo.filters import LeadFilter, Visibility
from aiqleads.geo.repository.binary_copy import copy_numeric
from aiqleads.geo.repository.common import (
    H3_COLUMNS,
    FloatArray,
    IntArray,
    filter_conds,
    floats,
    ints,
    is_postgis,
    leads,
    market_cond,
    purchases,
)
from aiqleads.models.enums import LeadStatus


@dataclass(frozen=True, slots=True)
class StatusGroups:
    """Grouped rows (region key, status, bought by me) with their lead counts."""

    keys: IntArray
    statuses: list[str]
    mine: NDArray[np.bool_]
    count: IntArray


def _mine_flag(account_id: int) -> ColumnElement[int]:
    return case((purchases.c.account_id == account_id, 1), else_=0)


def _with_purchases(stmt: Select[Any]) -> Select[Any]:
    return stmt.select_from(leads.outerjoin(purchases, purchases.c.lead_id == leads.c.id))


async def status_groups_by_cell(
    session: AsyncSession, f: LeadFilter, vis: Visibility, *, res: int, account_id: int
) -> StatusGroups:
    col = leads.c[H3_COLUMNS[res]]
    mine = _mine_flag(account_id)
    stmt = _with_purchases(
        select(col, leads.c.status, mine, func.count())
        .where(market_cond(leads, f.statuses, vis), col.is_not(None), *filter_conds(leads, f))
        .group_by(col, leads.c.status, mine)
    )
    rows = (await session.execute(stmt)).all()
    return StatusGroups(
        ints(rows, 0), [r[1] for r in rows], ints(rows, 2).astype(bool), ints(rows, 3)
    )


STATUS_CODES: tuple[str, ...] = tuple(s.value for s in LeadStatus)  # status_code -> status


@dataclass(frozen=True, slots=True)
class StatusPoints:
    lat: FloatArray
    lon: FloatArray
    status_code: IntArray  # index into STATUS_CODES
    mine: NDArray[np.bool_]


async def status_points(
    session: AsyncSession, f: LeadFilter, vis: Visibility, *, account_id: int
) -> StatusPoints:
    # Statuses travel as small integers: fixed width for COPY, and no string per lead.
    code = case(*((leads.c.status == name, i) for i, name in enumerate(STATUS_CODES)), else_=-1)
    mine = _mine_flag(account_id)
    stmt = _with_purchases(
        select(
            leads.c.latitude, leads.c.longitude, cast(code, BigInteger), cast(mine, BigInteger)
        ).where(market_cond(leads, f.statuses, vis), *filter_conds(leads, f))
    )
    if is_postgis(session):
        fields = [("lat", "f8"), ("lon", "f8"), ("code", "i8"), ("mine", "i8")]
        c = await copy_numeric(session, stmt, fields)
        return StatusPoints(c["lat"], c["lon"], c["code"], c["mine"].astype(bool))
    rows = (await session.execute(stmt)).all()
    return StatusPoints(floats(rows, 0), floats(rows, 1), ints(rows, 2), ints(rows, 3).astype(bool))
