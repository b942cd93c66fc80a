"""The penetration answer: offered, sold and bought-by-me leads per ZIP (ZCTA polygons) or
per H3 cell, with the market's and the caller's penetration.

A lead's ZIP region is its ZIP (a preview field) when that ZCTA is one of the metro's, else the
ZCTA holding the lead's location: for admins the exact point's, stored by the write path
(`leads.zcta`), for agents the preview cell centre's, placed here. Sales by every buyer
count, so for agents a region covering fewer than `min_group` offered leads is withheld (its
count of other buyers' sales is not theirs to see one by one); the answer says how many.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace
from typing import Any, Literal

import anyio.to_thread
import h3
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.errors import InvalidInput
from aiqleads.geo.boundaries import (
    BoundariesUnavailableError,
    ZipRegions,
    assign_points,
    load_zip_regions,
)
from aiqleads.geo.disclosure import check_resolution
from aiqleads.geo.heatmap import cell_polygon
from aiqleads.geo.penetration import (
    RegionPenetration,
    penetration_from_counts,
    penetration_geojson,
)
from aiqleads.geo.repository.penetration import (
    PlacedGroups,
    StatusGroups,
    status_groups_by_cell,
    status_groups_by_zcta,
    status_groups_by_zip_or_place,
)
from aiqleads.geo.repository.tallies import (
    tallied_groups_by_cell,
    tallied_groups_by_zcta,
    tallied_groups_by_zip_or_place,
)
from aiqleads.geo.service.common import (
    GeoContext,
    basis,
    cached_answer,
    checked_statuses,
    encode,
)
from aiqleads.kit.h3cells import PREVIEW_RESOLUTION
from aiqleads.leads.filters import Area, LeadFilter
from aiqleads.leads.status import OFFERED
from aiqleads.leads.visibility import Viewer
from aiqleads.models.enums import LeadStatus

IntArray = np.ndarray[Any, np.dtype[np.int64]]


def _key(region: Hashable) -> int:
    assert isinstance(region, int)  # penetration_from_counts keys regions by int
    return region


def _zip_regions(filt: LeadFilter) -> ZipRegions:
    metro = filt.area.home_metro
    if metro is None:
        raise InvalidInput("bbox", "lies in no metro, so there are no ZIP regions; use level=h3")
    try:
        return load_zip_regions(metro.slug)
    except BoundariesUnavailableError:
        raise InvalidInput(
            "level", f"no ZIP (ZCTA) polygons are available for {metro.slug}; use level=h3"
        ) from None


def _shown(
    viewer: Viewer, rows: list[RegionPenetration], min_group: int
) -> tuple[list[RegionPenetration], dict[str, int | None]]:
    """The regions an agent may see (at least `min_group` offered leads; an admin sees every
    region with supply), and how many were withheld: for an agent only when the withheld
    regions hold `min_group` leads together, else None (so no answer counts a lone lead)."""
    least = 0 if viewer.exact else min_group
    kept = [r for r in rows if r.offered >= least]
    withheld = [r for r in rows if r.offered < least]
    leads = sum(r.offered for r in withheld)
    if not viewer.exact and leads < min_group:
        return kept, {"withheld_regions": None, "withheld_leads": None}
    return kept, {"withheld_regions": len(withheld), "withheld_leads": leads}


async def penetration(
    session: AsyncSession,
    viewer: Viewer,
    *,
    filt: LeadFilter,
    level: Literal["zip", "h3"],
    resolution: int,
    metric: Literal["market", "agent"],
    ctx: GeoContext,
) -> bytes:
    """Penetration per region as encoded GeoJSON (see the route for the members). Raises
    InvalidInput for an area without ZIP polygons, a status the viewer may not ask for, or
    (agents) a resolution finer than the preview cell.

    For agents the filters only choose which regions to show (those holding a lead that
    matches); each region's numbers are those of all its offered leads, so no two answers can
    be subtracted to single out one lead's sale. Regions under `min_group` offered leads are
    withheld, and how many is said only when that covers `min_group` leads too.
    """
    statuses = checked_statuses(viewer, filt, OFFERED)
    if level == "h3":
        check_resolution(viewer, resolution, "resolution")
    regions = _zip_regions(filt) if level == "zip" else None
    params = {"level": level, "resolution": resolution if level == "h3" else None, "metric": metric}
    whole = None if viewer.exact else LeadFilter(area=Area(metro=filt.area.home_metro))

    async def compute() -> bytes:
        if regions is None:
            metro = _whole_metro(filt, statuses) if resolution == PREVIEW_RESOLUTION else None
            if metro is not None:  # the tallies hold the stored res-8 (preview) cells
                g = await tallied_groups_by_cell(session, viewer, metro)
            else:
                g = await status_groups_by_cell(session, viewer, filt, statuses, res=resolution)
            keys = np.array(g.keys, dtype=np.int64)
            rows = penetration_from_counts(keys, g.statuses, g.mine, g.count)
            if whole is not None and not _cells_are_whole(filt, whole, statuses, resolution):
                chosen = [_key(r.region) for r in rows]
                w = await status_groups_by_cell(
                    session, viewer, LeadFilter(), OFFERED, res=resolution, only=chosen
                )
                w_keys = np.array(w.keys, dtype=np.int64)
                rows = penetration_from_counts(w_keys, w.statuses, w.mine, w.count)

            def build_h3() -> bytes:
                shown, withheld = _shown(viewer, rows, ctx.min_group)
                named = [replace(r, region=h3.int_to_str(_key(r.region))) for r in shown]
                doc = penetration_geojson(
                    named, lambda cell: cell_polygon(h3.str_to_int(str(cell))), metric=metric
                )
                return encode({**doc, **params, **withheld, **basis(viewer)})

            return await anyio.to_thread.run_sync(build_h3)
        if whole is None:  # admins: the filters are the answer
            rows = await _zip_rows(session, viewer, filt, statuses, regions)
        elif _asks_for_all(filt, whole, statuses):
            # The filters choose every region with an offered lead, which is what `whole`
            # counts: one query answers both (the map's default view).
            rows = await _zip_rows(session, viewer, whole, OFFERED, regions)
        else:
            matching = await _zip_rows(session, viewer, filt, statuses, regions)
            picked = {_key(r.region) for r in matching}
            every = await _zip_rows(session, viewer, whole, OFFERED, regions)
            rows = [r for r in every if _key(r.region) in picked]

        def build_zip() -> bytes:
            shown, withheld = _shown(viewer, rows, ctx.min_group)
            named = [replace(r, region=regions.zips[_key(r.region)]) for r in shown]
            doc = penetration_geojson(named, lambda z: regions.geojson(str(z)), metric=metric)
            return encode({**doc, **params, **withheld, "metro": regions.metro, **basis(viewer)})

        return await anyio.to_thread.run_sync(build_zip)

    return await cached_answer(
        session,
        ctx,
        endpoint="penetration",
        filt=filt,
        viewer=viewer,
        personal=True,  # "bought by me" makes every answer the caller's own
        params=params,
        compute=compute,
    )


def _asks_for_all(filt: LeadFilter, whole: LeadFilter, statuses: tuple[LeadStatus, ...]) -> bool:
    """Whether the filters are the whole home metro's offered leads: nothing but the metro, and
    the offered statuses."""
    return replace(filt, statuses=()) == whole and set(statuses) == set(OFFERED)


def _whole_metro(filt: LeadFilter, statuses: tuple[LeadStatus, ...]) -> str | None:
    """The home metro's slug when the filters are its offered leads and nothing else: the
    answers the precomputed tallies (`repository.tallies`) hold; else None."""
    metro = filt.area.home_metro
    if metro is None or set(statuses) != set(OFFERED):
        return None
    return metro.slug if replace(filt, statuses=()) == LeadFilter(area=Area(metro=metro)) else None


def _cells_are_whole(
    filt: LeadFilter, whole: LeadFilter, statuses: tuple[LeadStatus, ...], resolution: int
) -> bool:
    """Whether the cells the filters choose already hold every offered lead of theirs, so the
    second query (all offered leads of the chosen cells) would return the first one's rows.

    True for the whole home metro's offered leads at the preview resolution: a lead's metro is
    a function of its preview cell (the metro holding the cell's centre, `leads.writes`), so a
    cell with one of the metro's leads holds no lead of another metro. A coarser cell may
    straddle two metros, and other filters leave leads of the chosen cells out.
    """
    return resolution == PREVIEW_RESOLUTION and _asks_for_all(filt, whole, statuses)


async def _zip_rows(
    session: AsyncSession,
    viewer: Viewer,
    filt: LeadFilter,
    statuses: tuple[LeadStatus, ...],
    regions: ZipRegions,
) -> list[RegionPenetration]:
    if not viewer.exact:
        # Agents place leads at preview cell centres: a whole metro's groups are precomputed
        # (`repository.tallies`), any other filter's come from one grouped scan.
        metro = _whole_metro(filt, statuses)
        if metro is not None:
            placed = await tallied_groups_by_zip_or_place(session, viewer, metro, zips=regions.zips)
        else:
            placed = await status_groups_by_zip_or_place(
                session, viewer, filt, statuses, zips=regions.zips
            )
        keys = await anyio.to_thread.run_sync(lambda: _placed_keys(regions, placed))
        return penetration_from_counts(keys, placed.statuses, placed.mine, placed.count)
    # Admins place leads at their exact points, whose ZCTA the write path stores: a whole
    # metro's groups are precomputed, any other filter's come from one grouped scan.
    metro = _whole_metro(filt, statuses)
    if metro is not None:
        g = await tallied_groups_by_zcta(session, viewer, metro)
    else:
        g = await status_groups_by_zcta(session, viewer, filt, statuses, zips=regions.zips)
    return penetration_from_counts(_zcta_keys(regions, g), g.statuses, g.mine, g.count)


def _zcta_keys(regions: ZipRegions, g: StatusGroups) -> IntArray:
    """Region index of each (ZIP, ZCTA) group: its ZIP's when that is one of the regions, else
    its ZCTA's when that is, else -1 (outside every region)."""
    index = {z: i for i, z in enumerate(regions.zips)}
    return np.array(
        [index[z] if z in index else index.get(c, -1) for z, c in g.keys],
        dtype=np.int64,
    )


def _placed_keys(regions: ZipRegions, placed: PlacedGroups) -> IntArray:
    """Region index of each group: its ZIP's, else the region holding its place (-1: none)."""
    keys = np.full(len(placed.zips), -1, dtype=np.int64)
    has_zip = np.array([z is not None for z in placed.zips], dtype=bool)
    keys[has_zip] = [regions.index_of(str(z)) for z in placed.zips if z is not None]
    at = np.flatnonzero(~has_zip & np.isfinite(placed.lat) & np.isfinite(placed.lon))
    keys[at] = assign_points(regions, placed.lat[at], placed.lon[at])
    return keys
