"""The penetration answer: offered, sold and bought-by-me leads per ZIP (ZCTA polygons) or
per H3 cell, with the market's and the caller's penetration."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace
from typing import Any, Literal

import anyio.to_thread
import h3
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth.principal import Principal
from aiqleads.errors import InvalidInput
from aiqleads.geo.boundaries import BoundariesUnavailableError, assign_points, load_zip_regions
from aiqleads.geo.filters import OFFERED, LeadFilter
from aiqleads.geo.heatmap import cell_polygon
from aiqleads.geo.penetration import penetration_from_counts, penetration_geojson
from aiqleads.geo.repository.penetration import (
    STATUS_CODES,
    status_groups_by_cell,
    status_points,
)
from aiqleads.geo.service.common import (
    GeoContext,
    cached_answer,
    checked_statuses,
    encode,
    visibility,
)


def _key(region: Hashable) -> int:
    assert isinstance(region, int)  # penetration_from_counts keys regions by int
    return region


def _zip_regions(filt: LeadFilter) -> Any:
    metro = filt.area.home_metro
    if metro is None:
        raise InvalidInput("bbox", "lies in no metro, so there are no ZIP regions; use level=h3")
    try:
        return load_zip_regions(metro.slug)
    except BoundariesUnavailableError:
        raise InvalidInput(
            "level", f"no ZIP (ZCTA) polygons are available for {metro.slug}; use level=h3"
        ) from None


def _group_zip(
    zip_index: np.ndarray[Any, Any], status_code: np.ndarray[Any, Any], mine: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], list[str], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(zip, status, mine) groups with counts, like the GROUP BY of the h3 level."""
    combo = np.column_stack((zip_index, status_code, mine.astype(np.int64)))
    if combo.size == 0:
        return np.empty(0, np.int64), [], np.empty(0, bool), np.empty(0, np.int64)
    uniq, counts = np.unique(combo, axis=0, return_counts=True)
    names = [STATUS_CODES[i] for i in uniq[:, 1].tolist()]
    return uniq[:, 0], names, uniq[:, 2].astype(bool), counts


async def penetration(
    session: AsyncSession,
    principal: Principal,
    *,
    filt: LeadFilter,
    level: Literal["zip", "h3"],
    resolution: int,
    metric: Literal["market", "agent"],
    ctx: GeoContext,
) -> bytes:
    filt = checked_statuses(principal, filt, OFFERED)
    # Sales by every buyer count (that is the marketplace's penetration), but an agent still
    # sees nothing inside its tier window; "bought by me" makes the answer per account.
    vis = visibility(principal, ctx.settings, ctx.now, personal=True)
    regions = _zip_regions(filt) if level == "zip" else None
    params = {"level": level, "resolution": resolution if level == "h3" else None, "metric": metric}
    me = principal.account_id

    async def compute() -> bytes:
        if regions is None:
            g = await status_groups_by_cell(session, filt, vis, res=resolution, account_id=me)

            def build_h3() -> bytes:
                rows = [
                    replace(r, region=h3.int_to_str(_key(r.region)))
                    for r in penetration_from_counts(g.keys, g.statuses, g.mine, g.count)
                ]
                doc = penetration_geojson(
                    rows, lambda cell: cell_polygon(h3.str_to_int(str(cell))), metric=metric
                )
                return encode({**doc, **params})

            return await anyio.to_thread.run_sync(build_h3)
        pts = await status_points(session, filt, vis, account_id=me)

        def build_zip() -> bytes:
            idx = assign_points(regions, pts.lat, pts.lon)
            keys, statuses, mine, counts = _group_zip(idx, pts.status_code, pts.mine)
            rows = [
                replace(r, region=regions.zips[_key(r.region)])
                for r in penetration_from_counts(keys, statuses, mine, counts)
            ]
            doc = penetration_geojson(rows, lambda z: regions.geojson(str(z)), metric=metric)
            return encode({**doc, **params, "metro": regions.metro})

        return await anyio.to_thread.run_sync(build_zip)

    return await cached_answer(
        session, ctx, endpoint="penetration", filt=filt, vis=vis, params=params, compute=compute
    )
