"""ZIP (Census 2020 ZCTA) polygons per metro, and point-in-polygon assignment of many points.

Files live in ``boundaries/`` (see its README for origin and licence). They are read lazily, once
per process, and invalid polygons are repaired with ``make_valid``. Dallas has no ZCTA file.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from aiqleads.geo.geojson import GeoJSON, geometry_to_geojson
from aiqleads.geo.projection import validate_latlon

_FILES: dict[str, str] = {
    "seattle": "zcta2020_seattle_king_wa_market_84.geojson.gz",
    "las_vegas": "zcta2020_las_vegas_clark_nv_market_36.geojson.gz",
    "phoenix": "zcta2020_phoenix_maricopa_az_market_200.geojson.gz",
    "austin": "zcta2020_austin_central_tx_market_102.geojson.gz",
}
METROS_WITHOUT_ZCTA: frozenset[str] = frozenset({"dallas"})


class BoundariesUnavailableError(LookupError):
    """No ZIP polygons exist for this metro (Dallas) or the slug is unknown."""


@dataclass(frozen=True, slots=True)
class ZipRegions:
    """ZIP codes sorted ascending and their valid (Multi)Polygons in lon/lat."""

    metro: str
    zips: tuple[str, ...]
    geometries: NDArray[np.object_]
    repaired: int  # how many polygons were invalid as published

    def index_of(self, zip_code: str) -> int:
        return self.zips.index(zip_code)

    def geojson(self, zip_code: str) -> GeoJSON:
        return geometry_to_geojson(self.geometries[self.index_of(zip_code)])


def available_metros() -> tuple[str, ...]:
    return tuple(sorted(_FILES))


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """``make_valid`` can return lines or points beside the area; keep only the area."""
    if geom.is_valid:
        return geom
    fixed = shapely.make_valid(geom)
    parts = [
        p for p in shapely.get_parts(fixed) if isinstance(p, shapely.Polygon | shapely.MultiPolygon)
    ]
    return shapely.union_all(parts)


@cache
def load_zip_regions(metro: str) -> ZipRegions:
    """ZIP polygons of ``metro`` ('seattle', 'las_vegas', 'phoenix', 'austin'), cached."""
    if metro in METROS_WITHOUT_ZCTA:
        raise BoundariesUnavailableError(
            f"no ZIP (ZCTA) polygons are available for {metro!r}; use H3 cells or the county"
        )
    if metro not in _FILES:
        raise BoundariesUnavailableError(
            f"unknown metro {metro!r}; ZIP polygons exist for {', '.join(available_metros())}"
        )
    raw = resources.files("aiqleads.geo").joinpath("boundaries", _FILES[metro]).read_bytes()
    data = json.loads(gzip.decompress(raw))
    items = sorted(
        (f["properties"]["ZCTA5CE20"], shapely.geometry.shape(f["geometry"]))
        for f in data["features"]
    )
    geoms = np.array([g for _, g in items], dtype=object)
    invalid = int(np.count_nonzero(~shapely.is_valid(geoms)))
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    return ZipRegions(metro, tuple(z for z, _ in items), geoms, invalid)


def assign_points(regions: ZipRegions, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.int64]:
    """Index into ``regions.zips`` of the region holding each point, -1 when none does.

    A point on a border shared by two ZIPs goes to the lower ZIP code (regions are tried in
    ascending order and a point keeps its first match). Points are sorted by longitude once so
    that each polygon only tests the points inside its bounding box, with the vectorised
    ``shapely.intersects_xy`` (boundary included) on a prepared polygon.
    """
    lat_a, lon_a = validate_latlon(lat, lon)
    out = np.full(lat_a.size, -1, dtype=np.int64)
    order = np.argsort(lon_a, kind="stable")
    xs = lon_a[order]
    for k, geom in enumerate(regions.geometries):
        minx, miny, maxx, maxy = geom.bounds
        lo = int(np.searchsorted(xs, minx, side="left"))
        hi = int(np.searchsorted(xs, maxx, side="right"))
        cand = order[lo:hi]
        cand = cand[(out[cand] < 0) & (lat_a[cand] >= miny) & (lat_a[cand] <= maxy)]
        if cand.size == 0:
            continue
        shapely.prepare(geom)
        inside = shapely.intersects_xy(geom, lon_a[cand], lat_a[cand])
        out[cand[inside]] = k
    return out


@cache
def all_zip_regions() -> ZipRegions:
    """The ZIP polygons of every metro with a file, as one set of regions sorted by code
    (metro ``"*"``), cached. The files hold no code twice and their polygons do not overlap, so
    a point's region here is its region in its own metro's file."""
    each = [load_zip_regions(metro) for metro in available_metros()]
    items = sorted((z, g) for r in each for z, g in zip(r.zips, r.geometries, strict=True))
    geoms = np.array([g for _, g in items], dtype=object)
    repaired = sum(r.repaired for r in each)
    return ZipRegions("*", tuple(z for z, _ in items), geoms, repaired)


def zcta_of_points(lat: ArrayLike, lon: ArrayLike) -> list[str | None]:
    """The ZCTA (ZIP code) holding each exact point, against every metro's polygons at once
    (`all_zip_regions`); ``None`` outside all of them. Degrees in, one code per point out, in
    order; raises ValueError for coordinates out of range (`validate_latlon`).

    Derived from the exact point, so only admins' answers may use it (see
    `leads.visibility`). Only the polygons whose bounding box meets the points' box are tried
    (a few for one lead: 0.2 ms, against 12 ms for all ~950), in code order, so the tie rule
    of `assign_points` holds; a batch is still best placed in one call."""
    lat_a, lon_a = validate_latlon(lat, lon)
    if lat_a.size == 0:
        return []
    regions, bounds = all_zip_regions(), _all_zip_bounds()
    near = np.flatnonzero(
        (bounds[:, 0] <= lon_a.max())
        & (bounds[:, 2] >= lon_a.min())
        & (bounds[:, 1] <= lat_a.max())
        & (bounds[:, 3] >= lat_a.min())
    )
    zips = tuple(regions.zips[i] for i in near.tolist())
    idx = assign_points(
        replace(regions, zips=zips, geometries=regions.geometries[near]), lat_a, lon_a
    )
    return [zips[i] if i >= 0 else None for i in idx.tolist()]


@cache
def _all_zip_bounds() -> NDArray[np.float64]:
    """(minx, miny, maxx, maxy) of each of `all_zip_regions`' polygons, one row each."""
    bounds: NDArray[np.float64] = shapely.bounds(all_zip_regions().geometries)
    return bounds


def zip_codes_for_points(metro: str, lat: ArrayLike, lon: ArrayLike) -> list[str | None]:
    """ZIP code of each point (``None`` outside every ZCTA)."""
    regions = load_zip_regions(metro)
    idx = assign_points(regions, lat, lon)
    return [regions.zips[i] if i >= 0 else None for i in idx.tolist()]
