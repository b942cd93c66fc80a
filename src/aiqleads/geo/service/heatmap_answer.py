"""The heatmap answer: leads per H3 cell (stored resolutions grouped in SQL, coarser ones merged
from resolution 7, finer ones indexed from the points) or per square cell."""

from __future__ import annotations

from typing import Any, Literal

import anyio.to_thread
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth.principal import Principal
from aiqleads.errors import InvalidInput
from aiqleads.geo.filters import ON_MARKET, LeadFilter
from aiqleads.geo.heatmap import (
    CellAggregate,
    Value,
    cells_for_points,
    h3_heatmap_json,
    parent_cells,
    square_grid,
    zoom_to_resolution,
)
from aiqleads.geo.projection import LocalProjection
from aiqleads.geo.repository.common import H3_COLUMNS
from aiqleads.geo.repository.heatmap import CellGroups, cell_groups
from aiqleads.geo.repository.points import LeadPoints, points
from aiqleads.geo.service.common import (
    GeoContext,
    cached_answer,
    checked_statuses,
    encode,
    visibility,
)
from aiqleads.models.enums import LeadStatus

DEFAULT_RESOLUTION = 8
_WEIGHT_VALUE: dict[str, Value] = {
    "count": "count",
    "asking_price_sum": "sum",
    "score_mean": "mean",
}


def _regroup(groups: CellGroups, res: int) -> CellGroups:
    """Merge stored res-7 groups into their parents at a coarser resolution."""
    parents = parent_cells(groups.cells, res)
    cells, inverse = np.unique(parents, return_inverse=True)

    def add(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.bincount(inverse, weights=values, minlength=cells.size)

    return CellGroups(
        cells=cells,
        count=add(groups.count).astype(np.int64),
        price_sum=add(groups.price_sum),
        price_n=add(groups.price_n).astype(np.int64),
        score_sum=add(groups.score_sum),
        score_n=add(groups.score_n).astype(np.int64),
    )


def _group_points(pts: LeadPoints, res: int) -> CellGroups:
    """Resolution 10 is not stored: index the points, then group like the database would."""
    cells, inverse = np.unique(cells_for_points(pts.lat, pts.lon, res), return_inverse=True)

    def add(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.bincount(inverse, weights=values, minlength=cells.size)

    price_known, score_known = np.isfinite(pts.price), np.isfinite(pts.score)
    return CellGroups(
        cells=cells,
        count=add(np.ones(pts.lat.size)).astype(np.int64),
        price_sum=add(np.where(price_known, pts.price, 0.0)),
        price_n=add(price_known.astype(np.float64)).astype(np.int64),
        score_sum=add(np.where(score_known, pts.score, 0.0)),
        score_n=add(score_known.astype(np.float64)).astype(np.int64),
    )


def _aggregate(groups: CellGroups, weight: str) -> CellAggregate:
    if weight == "count":
        return CellAggregate(groups.cells, groups.count, None, None)
    total, known = (
        (groups.price_sum, groups.price_n)
        if weight == "asking_price_sum"
        else (groups.score_sum, groups.score_n)
    )
    mean = np.divide(total, known, out=np.full(total.size, np.nan), where=known > 0)
    return CellAggregate(groups.cells, groups.count, total.astype(np.float64), mean)


async def heatmap(
    session: AsyncSession,
    principal: Principal,
    *,
    filt: LeadFilter,
    resolution: int | None,
    zoom: float | None,
    weight: str,
    grid: Literal["h3", "square"],
    cell_size_m: float,
    ctx: GeoContext,
) -> bytes:
    filt = checked_statuses(principal, filt, ON_MARKET)
    vis = visibility(principal, ctx.settings, ctx.now, personal=LeadStatus.SOLD in filt.statuses)
    lat0, lon0 = filt.area.centre
    if grid == "square":
        if weight != "count":
            raise InvalidInput("weight", "the square grid counts leads; use grid=h3 for weights")
        params: dict[str, Any] = {"grid": "square", "cell_size_m": cell_size_m}
    else:
        res = resolution
        if res is None:
            res = DEFAULT_RESOLUTION if zoom is None else zoom_to_resolution(zoom, latitude=lat0)
        params = {"grid": "h3", "resolution": res, "weight": weight}

    async def compute() -> bytes:
        if grid == "square":
            pts = await points(session, filt, vis)
            proj = LocalProjection.around(lat0, lon0)  # fixed per area: cells do not shift
            doc = await anyio.to_thread.run_sync(
                lambda: square_grid(pts.lat, pts.lon, cell_size_m, projection=proj)
            )
            doc["total_leads"] = int(pts.lat.size)
            return encode(doc)
        res = int(params["resolution"])
        weighted = weight != "count"
        if res in H3_COLUMNS:
            groups = await cell_groups(session, filt, vis, res, weighted=weighted)
        elif res < min(H3_COLUMNS):
            stored = await cell_groups(session, filt, vis, 7, weighted=weighted)
            groups = _regroup(stored, res)
        else:
            groups = _group_points(await points(session, filt, vis), res)

        def build() -> bytes:
            agg, total = _aggregate(groups, weight), int(groups.count.sum())
            value = _WEIGHT_VALUE[weight]
            return h3_heatmap_json(agg, value, resolution=res, weight=weight, total_leads=total)

        return await anyio.to_thread.run_sync(build)

    return await cached_answer(
        session, ctx, endpoint="heatmap", filt=filt, vis=vis, params=params, compute=compute
    )
