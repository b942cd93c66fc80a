"""The heatmap answer: leads per H3 cell (stored resolutions grouped in SQL, coarser ones merged
from resolution 7, finer ones indexed from the points) or per square cell."""

from __future__ import annotations

from typing import Any, Literal

import anyio.to_thread
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.errors import InvalidInput
from aiqleads.geo.disclosure import check_resolution
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
from aiqleads.geo.repository.points import LeadPoints, approximate_count, points
from aiqleads.geo.service.common import (
    GeoContext,
    basis,
    cached_answer,
    checked_statuses,
    encode,
)
from aiqleads.kit.h3cells import PREVIEW_RESOLUTION
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.status import ON_MARKET
from aiqleads.leads.visibility import Viewer
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
        approximate=groups.approximate,
    )


def _group_points(pts: LeadPoints, res: int, approximate: int) -> CellGroups:
    """Resolution 10 is not stored: index the points, then group like the database would;
    `approximate` is how many of the points stand at a ZIP centroid."""
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
        approximate=approximate,
    )


def _aggregate(groups: CellGroups, weight: str, min_scored: int) -> CellAggregate:
    """The cells' values for `weight`. A score mean needs `min_scored` scored leads in the cell
    (1 for admins; `min_group` for agents, whose means come from buckets), else it is withheld:
    NaN, which leaves the cell out of the answer."""
    if weight == "count":
        return CellAggregate(groups.cells, groups.count, None, None)
    total, known = (
        (groups.price_sum, groups.price_n)
        if weight == "asking_price_sum"
        else (groups.score_sum, groups.score_n)
    )
    enough = known >= (min_scored if weight == "score_mean" else 1)
    mean = np.divide(total, known, out=np.full(total.size, np.nan), where=enough & (known > 0))
    return CellAggregate(groups.cells, groups.count, total.astype(np.float64), mean)


def _resolution(viewer: Viewer, resolution: int | None, zoom: float | None, lat0: float) -> int:
    """The grid asked for, else the zoom's, capped at the preview resolution for agents (a map
    zoomed in further still shows preview cells to them)."""
    if resolution is not None:
        check_resolution(viewer, resolution, "resolution")
        return resolution
    if zoom is None:
        return DEFAULT_RESOLUTION
    res = zoom_to_resolution(zoom, latitude=lat0)
    return res if viewer.exact else min(res, PREVIEW_RESOLUTION)


async def heatmap(
    session: AsyncSession,
    viewer: Viewer,
    *,
    filt: LeadFilter,
    resolution: int | None,
    zoom: float | None,
    weight: str,
    grid: Literal["h3", "square"],
    cell_size_m: float,
    ctx: GeoContext,
) -> bytes:
    """Leads per cell as encoded GeoJSON (see the route for the members). Agents get grids of
    resolution 8 or coarser built from preview cells, and score means from score buckets over
    at least `min_group` scored leads. Raises InvalidInput for a weight the grid cannot carry,
    a status the viewer may not ask for, or (agents) a finer resolution."""
    statuses = checked_statuses(viewer, filt, ON_MARKET)
    lat0, lon0 = filt.area.centre
    if grid == "square":
        if weight != "count":
            raise InvalidInput("weight", "the square grid counts leads; use grid=h3 for weights")
        params: dict[str, Any] = {"grid": "square", "cell_size_m": cell_size_m}
    else:
        res = _resolution(viewer, resolution, zoom, lat0)
        params = {"grid": "h3", "resolution": res, "weight": weight}
    min_scored = 1 if viewer.exact else ctx.min_group

    async def compute() -> bytes:
        if grid == "square":
            approximate = await approximate_count(session, viewer, filt, statuses)
            # A point layer: leads known only to their ZIP are left out, and counted.
            pts = await points(session, viewer, filt, statuses, exact_only=True)
            proj = LocalProjection.around(lat0, lon0)  # fixed per area: cells do not shift
            doc = await anyio.to_thread.run_sync(
                lambda: square_grid(pts.lat, pts.lon, cell_size_m, projection=proj)
            )
            doc.update(
                total_leads=int(pts.lat.size),
                approximate_leads=approximate,
                approximate_excluded=True,
                **basis(viewer),
            )
            return encode(doc)
        res = int(params["resolution"])
        sums = {"prices": weight == "asking_price_sum", "scores": weight == "score_mean"}
        if res in H3_COLUMNS:
            groups = await cell_groups(session, viewer, filt, statuses, res, **sums)
        elif res < min(H3_COLUMNS):
            stored = await cell_groups(session, viewer, filt, statuses, 7, **sums)
            groups = _regroup(stored, res)
        else:
            approximate = await approximate_count(session, viewer, filt, statuses)
            groups = _group_points(await points(session, viewer, filt, statuses), res, approximate)

        def build() -> bytes:
            agg, total = _aggregate(groups, weight, min_scored), int(groups.count.sum())
            value = _WEIGHT_VALUE[weight]
            shown = int(np.count_nonzero(np.isfinite(agg.values(value))))
            return h3_heatmap_json(
                agg,
                value,
                resolution=res,
                weight=weight,
                total_leads=total,
                # Of them, at a ZIP's centroid (known only to their ZIP): counted in the cell
                # holding that centroid, so a hot cell may be one ZIP's unplaced listings.
                approximate_leads=groups.approximate,
                withheld_cells=int(agg.cells.size) - shown,
                **basis(viewer),
            )

        return await anyio.to_thread.run_sync(build)

    personal = LeadStatus.SOLD in statuses
    return await cached_answer(
        session,
        ctx,
        endpoint="heatmap",
        filt=filt,
        viewer=viewer,
        personal=personal,
        params=params,
        compute=compute,
    )
