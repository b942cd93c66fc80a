"""The heatmap's query: leads grouped by a stored H3 column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.geo.repository.common import (
    H3_COLUMNS,
    FloatArray,
    IntArray,
    dialect,
    floats,
    ints,
    leads,
)
from aiqleads.geo.repository.points import EXACT, score_for
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.visibility import Viewer, visible_leads
from aiqleads.models.enums import LeadStatus


@dataclass(frozen=True, slots=True)
class CellGroups:
    """Per stored H3 cell: lead count, asking-price sum (USD), score sum and scored-lead count;
    and how many of all the grouped leads stand at an approximate point (a ZIP centroid)."""

    cells: IntArray
    count: IntArray
    price_sum: FloatArray
    price_n: IntArray
    score_sum: FloatArray
    score_n: IntArray
    approximate: int


async def cell_groups(
    session: AsyncSession,
    viewer: Viewer,
    f: LeadFilter,
    statuses: Sequence[LeadStatus],
    res: int,
    *,
    prices: bool = True,
    scores: bool = True,
) -> CellGroups:
    """GROUP BY the stored h3 column: no H3 indexing at query time. Without `prices` or
    `scores` those sums are not computed and come back as zeros (each costs a share of the
    query; an agent's score is a CASE over its bucket, `score_for`). Resolutions 7 and 8 are
    functions of the preview cell; 9 is of the exact point (admins only, the caller checks)."""
    col = leads.c[H3_COLUMNS[res]]
    # SQLite would walk the h3 index to get groups in order and fetch every row through it
    # (2.5x slower than scanning the metro's rows); grouping on `col + 0` keeps its planner
    # on the filter's index. PostgreSQL hash-aggregates either way.
    key = col + 0 if dialect(session) == "sqlite" else col
    score = score_for(viewer)
    price_sums = (
        (cast(func.sum(leads.c.asking_price_cents), Float), func.count(leads.c.asking_price_cents))
        if prices
        else ()
    )
    score_sums = (cast(func.sum(score), Float), func.count(score)) if scores else ()
    # A stored cell is a location: the write path derives the cells and the preview centre
    # together from one point (leads.writes), so `col IS NOT NULL` already keeps only located
    # leads. Not testing the location columns as well lets SQLite answer from the covering
    # index of migration 0012 instead of reading every row.
    conds = visible_leads(viewer, f, statuses, dialect=dialect(session), located=False)
    # Ordered: a GROUP BY's order is the plan's (hashing once statistics exist), and the same
    # data must always answer with the same bytes.
    # The approximate points counted in the same pass (a second query cost as much again).
    approximate = func.count(case((leads.c.geocode_precision != EXACT, 1)))
    stmt = (
        select(key, func.count(), approximate, *price_sums, *score_sums)
        .where(*conds, col.is_not(None))
        .group_by(key)
        .order_by(key)
    )
    rows = (await session.execute(stmt)).all()
    cells, count, approx = ints(rows, 0), ints(rows, 1), int(ints(rows, 2).sum())
    zeros = np.zeros(cells.size)
    price_sum, price_n = zeros, zeros.astype(np.int64)
    score_sum, score_n = zeros, zeros.astype(np.int64)
    i = 3
    if prices:
        price_sum, price_n = np.nan_to_num(floats(rows, i)) / 100.0, ints(rows, i + 1)
        i += 2
    if scores:
        score_sum, score_n = np.nan_to_num(floats(rows, i)), ints(rows, i + 1)
    return CellGroups(cells, count, price_sum, price_n, score_sum, score_n, approx)
