"""How map answers stay within the disclosure rule for agents (DESIGN.md section 2).

Agents' queries already place every lead at its preview cell (`leads.visibility`). On top of
that, what an aggregate says beyond the previews of the leads it covers (statistics of scores,
listing offices, sales to other buyers, which leads are competitors) is shown to an agent only
when the aggregate covers at least `min_group` leads (the setting `disclosure_min_leads`,
default 5); smaller ones are withheld or merged into "other". Distances to a single competitor
are given in bands, never in metres; grids stop at the preview resolution.
"""

from __future__ import annotations

import math
from functools import lru_cache

import h3

from aiqleads.errors import InvalidInput
from aiqleads.kit.distance import haversine_m
from aiqleads.kit.h3cells import PREVIEW_RESOLUTION
from aiqleads.leads.visibility import Viewer

# Upper bounds of the distance bands, metres: finer than the cell spacing (about 800 m at
# resolution 8) would only describe the cell, coarser would not help an agent compare.
DISTANCE_BANDS_M = (250, 500, 1000, 2000, 5000, 10000)


def check_resolution(viewer: Viewer, resolution: int, field: str) -> None:
    """Raises InvalidInput(field) when an agent asks for a grid finer than the preview cell."""
    if not viewer.exact and resolution > PREVIEW_RESOLUTION:
        raise InvalidInput(
            field, f"agents see leads at H3 resolution {PREVIEW_RESOLUTION} or coarser"
        )


def distance_band(metres: float) -> str | None:
    """ "0-250 m", "250-500 m" … "over 10000 m"; None for no distance (inf or NaN)."""
    if not math.isfinite(metres):
        return None
    low = 0
    for high in DISTANCE_BANDS_M:
        if metres < high:
            return f"{low}-{high} m"
        low = high
    return f"over {low} m"


@lru_cache(maxsize=4096)
def _link(cell: str) -> float:
    lat, lon = h3.cell_to_latlng(cell)
    return max(haversine_m(lat, lon, *h3.cell_to_latlng(n)) for n in h3.grid_ring(cell, 1))


def cell_link_m(lat: float, lon: float) -> float:
    """The distance, in metres, from the preview cell around (lat, lon) to its farthest
    neighbour's centre, plus 1 %: the smallest DBSCAN radius that links neighbouring cells when
    every lead stands at its cell's centre (about 800 m at resolution 8)."""
    return 1.01 * _link(h3.latlng_to_cell(lat, lon, PREVIEW_RESOLUTION))


# The regions agents' office tallies are made over: H3 resolution 7 (about 5 km²), parents of
# the preview cells.
OFFICE_REGION_RESOLUTION = PREVIEW_RESOLUTION - 1


def regions_within(lat: float, lon: float, radius_m: float) -> set[int]:
    """The resolution-7 cells any part of which may lie within `radius_m` of (lat, lon): those
    whose centre is within the radius plus the cell's own circumradius. Fixed by the geometry
    alone, so an answer built over them cannot isolate one lead by moving the point or radius.
    """
    here = h3.latlng_to_cell(lat, lon, OFFICE_REGION_RESOLUTION)
    edge = float(h3.average_hexagon_edge_length(OFFICE_REGION_RESOLUTION, unit="m"))
    reach = radius_m + 1.2 * edge  # a cell's circumradius is its edge, plus slack for distortion
    rings = math.ceil(reach / (1.5 * edge)) + 1  # centre spacing is at least 1.5 edges
    out: set[int] = set()
    for cell in h3.grid_disk(here, rings):
        c_lat, c_lon = h3.cell_to_latlng(cell)
        if haversine_m(lat, lon, c_lat, c_lon) <= reach:
            out.add(int(h3.str_to_int(cell)))
    return out


def regional_offices(
    tallies: list[tuple[int, str, int]], *, min_group: int, top_n: int
) -> list[tuple[str, int]]:
    """An agent's top offices from (region, office, listings) tallies over whole regions: an
    office counts in a region only with at least `min_group` listings there, so any difference
    between two answers is a whole region's count for an office, never one listing."""
    totals: dict[str, int] = {}
    for _, office, n in tallies:
        if n >= min_group:
            totals[office] = totals.get(office, 0) + n
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]
