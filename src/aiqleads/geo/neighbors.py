"""Exact great-circle neighbour queries on top of a k-d tree in projected metres.

A query of radius r asks the tree for planar neighbours within ``outer_radius(r)`` (a superset,
see ``projection``) and keeps those whose haversine distance is within r. Queries run in chunks
of query points so the candidate lists never hold more than ``max_pairs`` entries at once.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from aiqleads.geo.projection import (
    EARTH_RADIUS_M,
    FloatArray,
    LocalProjection,
    haversine_reduced,
    reduced_threshold,
    unit_vectors,
    validate_latlon,
)

if TYPE_CHECKING:
    # The callers build the tree, importing scipy when they run: scipy is ~40 MB that a
    # process serving only the catalog never needs.
    from scipy.spatial import cKDTree

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
# Degrees of any float width: the sphere's functions widen them to float64 themselves.
Degrees = NDArray[np.floating[Any]]

DEFAULT_MAX_PAIRS = 4_000_000
"""Candidate pairs held at once (about 100 MB with their distances)."""


@dataclass(frozen=True, slots=True)
class PointSet:
    """Points in degrees, radians and projected metres, sharing one projection."""

    lat_rad: FloatArray
    lon_rad: FloatArray
    xy: FloatArray  # shape (n, 2), metres

    @classmethod
    def build(cls, lat: FloatArray, lon: FloatArray, projection: LocalProjection) -> PointSet:
        x, y = projection.forward(lat, lon)
        return cls(np.radians(lat), np.radians(lon), np.column_stack((x, y)))

    def __len__(self) -> int:
        return int(self.lat_rad.size)

    def subset(self, index: IntArray) -> PointSet:
        """The points at `index` (positions in this set), in that order."""
        return PointSet(self.lat_rad[index], self.lon_rad[index], self.xy[index])


def fit_common_projection(*latlon: tuple[FloatArray, FloatArray]) -> LocalProjection:
    """One projection whose distortion bound covers every given point set."""
    lat = np.concatenate([p[0] for p in latlon])
    lon = np.concatenate([p[1] for p in latlon])
    return LocalProjection.fit(lat, lon)


def _reduced(q: PointSet, qi: IntArray, p: PointSet, pj: IntArray) -> FloatArray:
    return haversine_reduced(q.lat_rad[qi], q.lon_rad[qi], p.lat_rad[pj], p.lon_rad[pj])


def reduced_to_m(reduced: FloatArray) -> FloatArray:
    """Metres from ``haversine_reduced`` values."""
    out: FloatArray = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(reduced, 0.0, 1.0)))
    return out


def _flatten(lists: NDArray[np.object_], offset: int) -> tuple[IntArray, IntArray]:
    lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    qi = np.repeat(np.arange(offset, offset + len(lists), dtype=np.int64), lengths)
    if lengths.sum() == 0:
        return qi, np.empty(0, dtype=np.int64)
    pj = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists if len(x)])
    return qi, pj


def iter_pairs_within(
    query: PointSet,
    points: PointSet,
    tree: cKDTree,
    projection: LocalProjection,
    radius_m: float,
    *,
    query_index: IntArray | None = None,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> Iterator[tuple[IntArray, IntArray, FloatArray]]:
    """Yield chunks ``(query_i, point_j, reduced)`` of all pairs within ``radius_m``.

    ``tree`` is the k-d tree over ``points.xy``. ``query_index`` restricts the query points.
    The planar pre-count sizes each chunk so that it stays under ``max_pairs`` candidates
    (a single query point with more candidates than that forms a chunk of its own).
    """
    r_out = projection.outer_radius(radius_m)
    limit = reduced_threshold(radius_m)
    idx = np.arange(len(query), dtype=np.int64) if query_index is None else query_index
    if idx.size == 0:
        return
    counts = np.asarray(tree.query_ball_point(query.xy[idx], r_out, return_length=True))
    bounds = _chunk_bounds(counts.astype(np.int64), max_pairs)
    for start, stop in itertools.pairwise(bounds):
        sel = idx[start:stop]
        lists = tree.query_ball_point(query.xy[sel], r_out)
        local_i, pj = _flatten(lists, 0)
        qi = sel[local_i]
        red = _reduced(query, qi, points, pj)
        keep = red <= limit
        yield qi[keep], pj[keep], red[keep]


def _chunk_bounds(counts: IntArray, max_pairs: int) -> IntArray:
    """Split positions so that each slice's count total stays under ``max_pairs``."""
    csum = np.cumsum(counts)
    bounds = [0]
    n = counts.size
    while bounds[-1] < n:
        base = csum[bounds[-1] - 1] if bounds[-1] > 0 else 0
        stop = int(np.searchsorted(csum, base + max_pairs, side="right"))
        bounds.append(max(stop, bounds[-1] + 1))
    return np.asarray(bounds, dtype=np.int64)


def count_within(
    query: PointSet,
    points: PointSet,
    tree: cKDTree,
    projection: LocalProjection,
    radius_m: float,
    *,
    query_index: IntArray | None = None,
) -> IntArray:
    """Exact number of ``points`` within ``radius_m`` of each query point.

    Counts planar neighbours inside the sure radius and the superset radius; only query points
    where the two differ (points in the thin distortion band) have their band checked.
    ``query_index`` must be sorted when given.
    """
    idx = np.arange(len(query), dtype=np.int64) if query_index is None else query_index
    xy = query.xy[idx]
    r_in = projection.inner_radius(radius_m)
    r_out = projection.outer_radius(radius_m)
    inner = np.asarray(tree.query_ball_point(xy, r_in, return_length=True), dtype=np.int64)
    outer = np.asarray(tree.query_ball_point(xy, r_out, return_length=True), dtype=np.int64)
    out = inner.copy()
    band = np.flatnonzero(outer > inner)
    if band.size:
        out[band] = 0
        for qi, _, _ in iter_pairs_within(
            query, points, tree, projection, radius_m, query_index=idx[band]
        ):
            np.add.at(out, np.searchsorted(idx, qi), 1)
    return out


def count_within_sphere(
    query_lat: Degrees,
    query_lon: Degrees,
    lat: Degrees,
    lon: Degrees,
    radius_m: float,
) -> IntArray:
    """Number of points (`lat`, `lon`: 1-d arrays of one length, degrees) within `radius_m`
    great-circle metres of each query point (`query_lat`, `query_lon`, likewise), as an int64
    array of the queries' length. Coordinates are taken as float64. Raises ValueError for
    coordinates that are not finite or out of range, arrays of unequal length, or a radius
    that is negative or not finite (0 counts coincident points).

    Counts by chord: on the sphere the straight line between two points is 2R·sin(d / 2R), a
    monotone function of their great-circle distance d (the chord of a circle of radius R under
    the central angle d / R), so a k-d tree over unit vectors in 3-d answers "within d" for a
    whole ball with `return_length`, listing no pair (the chord is the square root of 4 × the
    haversine term, so this is the haversine criterion). Memory stays linear in the points.
    `count_within` instead lists the pairs in its projection's distortion band, which on dense
    data is every pair (tens of millions at 100k leads, 0.7 GB); it stays the one DBSCAN uses,
    because its boundary cases agree with scikit-learn's bit for bit. The two differ only for
    pairs within rounding (about 1e-9 m) of `radius_m`.
    """
    from scipy.spatial import cKDTree  # imported when used (see TYPE_CHECKING above)

    chord = _chord(radius_m)
    queries = _checked_unit_vectors(query_lat, query_lon, "query")
    points = _checked_unit_vectors(lat, lon, "point")
    if len(queries) == 0 or len(points) == 0:
        return np.zeros(len(queries), dtype=np.int64)
    # Queries in the k-d order of their own tree, so that one query walks the nodes the last
    # one walked while they are still in the CPU's caches; leaves of 64 on sliding-midpoint
    # splits. At 1M points in one metro (6,700 within 1 km of each) this took the counts from
    # 234 s to 28 s (bench/neighbour_counts.py); the counts are the same.
    tree = cKDTree(points, leafsize=_LEAF_SIZE, balanced_tree=False, compact_nodes=False)
    order = _kd_order(queries)
    found = np.empty(len(queries), dtype=np.int64)
    found[order] = tree.query_ball_point(queries[order], chord, return_length=True)
    return found


_LEAF_SIZE = 64


def _kd_order(points: FloatArray) -> IntArray:
    """Positions of `points` ((n, 3)) in the leaf order of a k-d tree over them: points
    close in space come close in the order."""
    from scipy.spatial import cKDTree

    if len(points) < 2 * _LEAF_SIZE:
        return np.arange(len(points), dtype=np.int64)
    tree = cKDTree(points, leafsize=_LEAF_SIZE, balanced_tree=False, compact_nodes=False)
    return np.asarray(tree.indices, dtype=np.int64)


def within_sphere(
    lat_a: Degrees, lon_a: Degrees, lat_b: Degrees, lon_b: Degrees, radius_m: float
) -> BoolArray:
    """Pairwise (a[i], b[i]): True where the two points lie within `radius_m` great-circle
    metres, by the chord test `count_within_sphere` makes. Inputs as there, all four of one
    length; a bool array of that length. Raises ValueError as `count_within_sphere`."""
    chord = _chord(radius_m)
    a = _checked_unit_vectors(lat_a, lon_a, "first")
    b = _checked_unit_vectors(lat_b, lon_b, "second")
    if len(a) != len(b):
        raise ValueError(f"{len(a)} first points against {len(b)} second points")
    out: BoolArray = ((a - b) ** 2).sum(axis=1) <= chord * chord
    return out


def _chord(radius_m: float) -> float:
    """The unit-sphere chord of a great-circle distance of `radius_m` metres; infinite from
    half the circumference on, where every point is within (the chord of antipodes, 2, comes
    out of unit vectors a rounding error either side of 2)."""
    if not (math.isfinite(radius_m) and radius_m >= 0):
        raise ValueError(f"radius must be a finite number of metres >= 0, not {radius_m!r}")
    if radius_m / EARTH_RADIUS_M >= math.pi:
        return math.inf
    return 2.0 * math.sin(radius_m / EARTH_RADIUS_M / 2.0)


def _checked_unit_vectors(lat: Degrees, lon: Degrees, name: str) -> FloatArray:
    """(n, 3) points on the unit sphere of latitudes and longitudes in degrees, checked by
    `validate_latlon` (finite, in range) once known to be 1-d, which it does not check."""
    if np.ndim(lat) != 1 or np.shape(lat) != np.shape(lon):
        raise ValueError(f"{name} latitudes and longitudes must be 1-d arrays of one length")
    lat_a, lon_a = validate_latlon(lat, lon)
    out: FloatArray = np.column_stack(unit_vectors(np.radians(lat_a), np.radians(lon_a)))
    return out


def nearest_within(
    query: PointSet,
    points: PointSet,
    tree: cKDTree,
    projection: LocalProjection,
    max_distance_m: float | None = None,
    *,
    query_index: IntArray | None = None,
) -> tuple[IntArray, FloatArray]:
    """Exact haversine nearest point for each query point: ``(index, metres)``.

    Ties go to the smallest point index. Query points with nothing within ``max_distance_m``
    get index -1 and distance ``inf``. ``query_index`` must be sorted when given.

    Why it is exact: let d be the planar distance to the planar-nearest point. The true nearest
    distance t* is at most d (planar >= true), and the true-nearest point lies within planar
    ``max_scale * t*`` <= ``max_scale * d``, so the search radius below cannot miss it.
    """
    idx = np.arange(len(query), dtype=np.int64) if query_index is None else query_index
    best = np.full(idx.size, -1, dtype=np.int64)
    best_red = np.full(idx.size, np.inf)
    if idx.size == 0 or len(points) == 0:
        return best, np.full(idx.size, np.inf)
    upper = np.inf if max_distance_m is None else projection.outer_radius(max_distance_m)
    d_plan, _ = tree.query(query.xy[idx], k=1, distance_upper_bound=upper)
    found = np.flatnonzero(np.isfinite(d_plan))
    for start in range(0, found.size, 100_000):
        part = found[start : start + 100_000]
        radii = projection.max_scale * (1.0 + 1e-9) * d_plan[part] + 1e-6
        lists = tree.query_ball_point(query.xy[idx[part]], radii)
        local_i, pj = _flatten(lists, 0)
        qi = idx[part][local_i]
        red = _reduced(query, qi, points, pj)
        # Order by (query, distance, point index) and keep the first of each query.
        order = np.lexsort((pj, red, local_i))
        first = np.ones(order.size, dtype=bool)
        first[1:] = local_i[order][1:] != local_i[order][:-1]
        win = order[first]
        best[part[local_i[win]]] = pj[win]
        best_red[part[local_i[win]]] = red[win]
    dist = reduced_to_m(np.where(np.isfinite(best_red), best_red, 0.0))
    dist[best < 0] = np.inf
    if max_distance_m is not None:
        too_far = best_red > reduced_threshold(max_distance_m)
        best[too_far] = -1
        dist[too_far] = np.inf
    return best, dist
