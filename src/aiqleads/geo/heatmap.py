"""Heatmaps: counts (or price sums / score means) per H3 cell or per square metre grid cell.

Stored leads carry their H3 cells at resolutions 7, 8 and 9 as int64, so the fast path takes
those integers and groups them with numpy (no H3 indexing at query time). Coarser resolutions
come from the res-9 cells through ``h3.cell_to_parent``, called once per distinct cell, not per
point. ``cells_for_points`` indexes raw points for any other resolution.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import h3
import numpy as np
from numpy.typing import ArrayLike, NDArray

from aiqleads.geo.geojson import GeoJSON, feature, feature_collection, ring_polygon
from aiqleads.geo.legend import legend
from aiqleads.geo.projection import (
    EARTH_RADIUS_M,
    FloatArray,
    LocalProjection,
    as_float_array,
    validate_latlon,
)

MIN_RES, MAX_RES = 5, 10
CellArray = NDArray[np.int64]
Value = Literal["count", "sum", "mean"]

# Web Mercator ground resolution at zoom 0 on the equator, metres per 256-px tile pixel.
_MERCATOR_M_PER_PX_Z0 = 2.0 * math.pi * 6_378_137.0 / 256.0


def _check_res(res: int) -> None:
    if not MIN_RES <= res <= MAX_RES:
        raise ValueError(f"H3 resolution must be within {MIN_RES}..{MAX_RES}, got {res}")


def zoom_to_resolution(zoom: float, *, latitude: float = 40.0, target_px: float = 24.0) -> int:
    """H3 resolution (5–10) whose hexagons look about ``target_px`` pixels wide at ``zoom``.

    Rule: at web-map zoom z a pixel covers ``156543 m * cos(latitude) / 2**z``; a hexagon is
    about two edge lengths wide, so we want an average edge length of ``target_px / 2`` pixels.
    We pick the resolution whose average edge (``h3.average_hexagon_edge_length``) is nearest to
    that in log scale (ties to the coarser) and clamp to 5..10. With the defaults: zoom <= 7 → 5,
    8–9 → 6, 10 → 7, 11–12 → 8, 13 → 9, >= 14 → 10 (a zoom level halves the pixel size while a
    resolution divides the edge by about 2.65, hence some resolutions span two zooms).
    """
    if not 0.0 <= zoom <= 22.0:
        raise ValueError("zoom must be within 0..22")
    m_per_px = _MERCATOR_M_PER_PX_Z0 * math.cos(math.radians(latitude)) / 2.0**zoom
    wanted = math.log(m_per_px * target_px / 2.0)
    errors = {
        res: abs(math.log(h3.average_hexagon_edge_length(res, unit="m")) - wanted)
        for res in range(MIN_RES, MAX_RES + 1)
    }
    return min(errors, key=lambda r: (errors[r], r))


def cells_for_points(lat: ArrayLike, lon: ArrayLike, res: int) -> CellArray:
    """H3 cell (int64) of each point at ``res``."""
    _check_res(res)
    lat_a, lon_a = validate_latlon(lat, lon)
    to_cell = h3.api.basic_int.latlng_to_cell  # the int API: no str round trip per point
    return np.fromiter(
        (to_cell(a, b, res) for a, b in zip(lat_a.tolist(), lon_a.tolist(), strict=True)),
        dtype=np.int64,
        count=lat_a.size,
    )


def parent_cells(cells: ArrayLike, res: int) -> CellArray:
    """Parent at ``res`` of each cell; H3 is called once per distinct cell.

    H3 cells are not exactly nested: about a tenth of points near cell edges have a res-9
    parent at res 7 other than their own res-7 cell. Both are correct H3 answers; a layer should
    use one of the two consistently (stored res-7 cells for res 7, parents for 5 and 6).
    """
    _check_res(res)
    c = np.asarray(cells, dtype=np.int64).reshape(-1)
    uniq, inverse = np.unique(c, return_inverse=True)
    parents = np.fromiter(
        (h3.api.basic_int.cell_to_parent(int(u), res) for u in uniq.tolist()),
        dtype=np.int64,
        count=uniq.size,
    )
    out: CellArray = parents[inverse]
    return out


@dataclass(frozen=True, slots=True)
class CellAggregate:
    """Per distinct cell (ascending): point count, and weight sum / mean over known weights."""

    cells: CellArray
    count: NDArray[np.int64]
    weight_sum: FloatArray | None
    weight_mean: FloatArray | None  # NaN where no point of the cell has a weight

    def values(self, value: Value) -> FloatArray:
        if value == "count":
            return self.count.astype(np.float64)
        chosen = self.weight_sum if value == "sum" else self.weight_mean
        if chosen is None:
            raise ValueError(f"value {value!r} needs weights")
        return chosen


def aggregate_cells(cells: ArrayLike, weights: ArrayLike | None = None) -> CellAggregate:
    """Group int64 cells: count per cell, plus sum and mean of ``weights`` ignoring NaN."""
    c = np.asarray(cells, dtype=np.int64).reshape(-1)
    uniq, inverse, counts = np.unique(c, return_inverse=True, return_counts=True)
    if weights is None:
        return CellAggregate(uniq, counts.astype(np.int64), None, None)
    w = as_float_array(weights)
    if w.size != c.size:
        raise ValueError("weights and cells differ in length")
    known = np.isfinite(w)
    sums = np.bincount(inverse, weights=np.where(known, w, 0.0), minlength=uniq.size).astype(
        np.float64
    )
    n_known = np.bincount(inverse, weights=known.astype(np.float64), minlength=uniq.size)
    means = np.divide(sums, n_known, out=np.full(uniq.size, np.nan), where=n_known > 0)
    return CellAggregate(uniq, counts.astype(np.int64), sums, means)


@lru_cache(maxsize=262_144)
def _cell_ring(cell: int) -> tuple[tuple[float, float], ...]:
    # A cell's outline never changes, so it is computed once per process. Six decimals of a
    # degree are 0.1 m: finer than any map needs, and the answer's JSON is half as long.
    ring = h3.api.basic_int.cell_to_boundary(cell)
    coords = tuple((round(p[1], 6), round(p[0], 6)) for p in ring)
    return (*coords, coords[0])


@lru_cache(maxsize=262_144)
def _cell_geometry_json(cell: int) -> str:
    return json.dumps(cell_polygon(cell), separators=(",", ":"))


def cell_polygon(cell: int) -> GeoJSON:
    """GeoJSON Polygon of an H3 cell (``cell_to_boundary`` gives lat, lng; GeoJSON is lon, lat)."""
    return {"type": "Polygon", "coordinates": [_cell_ring(int(cell))]}


def h3_heatmap(agg: CellAggregate, value: Value = "count", *, k: int = 5) -> GeoJSON:
    """FeatureCollection of cell hexagons with ``value`` and ``count``, plus a legend.

    Cells whose value is undefined (mean with no weight) are left out of the features.
    """
    vals = agg.values(value)
    feats = [
        feature(
            cell_polygon(int(cell)),
            {"cell": h3.api.basic_int.int_to_str(int(cell)), "value": float(v), "count": int(n)},
            fid=h3.api.basic_int.int_to_str(int(cell)),
        )
        for cell, v, n in zip(agg.cells.tolist(), vals.tolist(), agg.count.tolist(), strict=True)
        if math.isfinite(v)
    ]
    return feature_collection(feats, value=value, legend=legend(vals, k))


def h3_heatmap_json(
    agg: CellAggregate, value: Value = "count", *, k: int = 5, **members: Any
) -> bytes:
    """``h3_heatmap`` (plus ``members``) encoded as compact JSON, faster.

    Encoding the hexagon outlines is most of the cost of a heatmap answer, and an outline never
    changes, so each cell's geometry JSON is encoded once per process and spliced in.
    """
    vals = agg.values(value)
    to_str = h3.api.basic_int.int_to_str
    parts = []
    for cell, v, n in zip(agg.cells.tolist(), vals.tolist(), agg.count.tolist(), strict=True):
        if not math.isfinite(v):
            continue
        name = to_str(cell)
        props = json.dumps(
            {"cell": name, "value": float(v), "count": int(n)}, separators=(",", ":")
        )
        parts.append(
            f'{{"type":"Feature","geometry":{_cell_geometry_json(cell)},'
            f'"properties":{props},"id":"{name}"}}'
        )
    rest = json.dumps({"value": value, "legend": legend(vals, k), **members}, separators=(",", ":"))
    return f'{{"type":"FeatureCollection","features":[{",".join(parts)}],{rest[1:]}'.encode()


def square_grid(
    lat: ArrayLike,
    lon: ArrayLike,
    cell_size_m: float,
    *,
    projection: LocalProjection | None = None,
    k: int = 5,
) -> GeoJSON:
    """Counts per square cell of ``cell_size_m`` metres in a local projection, as GeoJSON.

    Cells are squares in the azimuthal equidistant plane (true squares to within the
    projection's distortion, 1e-5 over a metro); their corners are mapped back to lon/lat.
    Pass ``projection`` to keep the grid fixed across requests (e.g. centred on the metro).
    """
    if not cell_size_m > 0.0:
        raise ValueError("cell_size_m must be positive")
    if cell_size_m > 0.25 * math.pi * EARTH_RADIUS_M:
        raise ValueError("cell_size_m is too large for a local grid")
    lat_a, lon_a = validate_latlon(lat, lon)
    if lat_a.size == 0:
        return feature_collection([], legend=legend([], k))
    proj = projection or LocalProjection.fit(lat_a, lon_a)
    x, y = proj.forward(lat_a, lon_a)
    ix = np.floor(x / cell_size_m).astype(np.int64)
    iy = np.floor(y / cell_size_m).astype(np.int64)
    keys, counts = np.unique(np.column_stack((ix, iy)), axis=0, return_counts=True)
    x0 = keys[:, 0] * cell_size_m
    y0 = keys[:, 1] * cell_size_m
    # Corners in ring order (counter-clockwise), one inverse projection for all cells.
    cx = np.stack([x0, x0 + cell_size_m, x0 + cell_size_m, x0], axis=1).reshape(-1)
    cy = np.stack([y0, y0, y0 + cell_size_m, y0 + cell_size_m], axis=1).reshape(-1)
    clat, clon = proj.inverse(cx, cy)
    clat, clon = clat.reshape(-1, 4), clon.reshape(-1, 4)
    feats = [
        feature(
            ring_polygon(clon[i].tolist(), clat[i].tolist()),
            {"ix": int(keys[i, 0]), "iy": int(keys[i, 1]), "value": int(counts[i])},
        )
        for i in range(keys.shape[0])
    ]
    return feature_collection(
        feats,
        value="count",
        cell_size_m=cell_size_m,
        origin={"lat": proj.lat0, "lon": proj.lon0},
        legend=legend(counts, k),
    )
