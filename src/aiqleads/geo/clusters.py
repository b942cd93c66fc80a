"""Per-cluster summaries of a DBSCAN labelling: size, centroid, hull, area, density, price.

Each hull is computed in an azimuthal equidistant projection centred on that cluster, so for a
cluster a few km across the area error is below 1e-6 (see ``projection``), then its vertices are
mapped back to lon/lat.

Degenerate clusters: when all points coincide the hull is a GeoJSON ``Point``, when they are
collinear it is a ``LineString``; both have area 0 and density ``None`` (undefined), so the map
can still draw them and nobody divides by zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import h3
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from aiqleads.geo.geojson import GeoJSON, feature, feature_collection, geometry_to_geojson
from aiqleads.geo.projection import FloatArray, LocalProjection, as_float_array, validate_latlon


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    cluster_id: int
    size: int
    centroid_lat: float
    centroid_lon: float
    hull: GeoJSON  # Polygon, or Point / LineString for degenerate clusters (lon, lat order)
    area_km2: float
    density_per_km2: float | None
    median_price: float | None  # over points with a known price; None if none has one


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    clusters: list[ClusterInfo]
    noise_count: int

    def to_geojson(self) -> GeoJSON:
        """FeatureCollection of hulls with the numbers as properties, noise count beside it."""
        feats = []
        for c in self.clusters:
            props: dict[str, Any] = asdict(c)
            del props["hull"]
            feats.append(feature(c.hull, props, fid=c.cluster_id))
        return feature_collection(feats, noise_count=self.noise_count)


def hull_in_metres(
    lat: FloatArray, lon: FloatArray, proj: LocalProjection | None = None
) -> tuple[shapely.Geometry, LocalProjection]:
    """Convex hull of the points in their own local projection (metres); `proj` is that
    projection when the caller has fitted it already (`LocalProjection.fit(lat, lon)`).

    Qhull works on the coordinate array directly; building a shapely MultiPoint first costs a
    GEOS object per point (at 1M leads, a 500k-point cluster took 1.3 s and 240 MB that way).
    Degenerate sets (coincident or collinear points), which Qhull refuses, go through shapely,
    which returns the Point or LineString the map draws.
    """
    from scipy.spatial import ConvexHull, QhullError  # imported when used: see geo.neighbors

    proj = proj or LocalProjection.fit(lat, lon)
    x, y = proj.forward(lat, lon)
    xy = np.column_stack((x, y))
    if xy.shape[0] >= 3:
        try:
            hull = ConvexHull(xy)
        except QhullError:
            pass
        else:
            return shapely.Polygon(xy[hull.vertices]), proj  # vertices counter-clockwise
    return shapely.convex_hull(shapely.multipoints(xy)), proj


def _to_lonlat(geom: shapely.Geometry, proj: LocalProjection) -> shapely.Geometry:
    def back(xy: FloatArray) -> FloatArray:
        la, lo = proj.inverse(xy[:, 0], xy[:, 1])
        return np.column_stack((lo, la))

    return shapely.transform(geom, back)


def summarize_clusters(
    lat: ArrayLike,
    lon: ArrayLike,
    labels: ArrayLike,
    price: ArrayLike | None = None,
    *,
    cells: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    price_point: ArrayLike | None = None,
) -> ClusterSummary:
    """Summaries for labels 0..k-1 (noise = -1). ``price`` may hold NaN for unknown prices.

    With ``cells`` (the H3 cell of each point, when points stand for cells), a cluster's hull
    and area are those of its cells' outlines, not of the points: a cluster of one cell is that
    cell, never a point.

    With ``weights`` (whole numbers), point i stands for ``weights[i]`` points at the same place
    (a preview cell's leads): sizes, noise count, densities and centroids are those of the
    points repeated by their weights (centroids equal up to float rounding, about 1e-12°).
    ``price_point`` then maps each price to its point: ``price`` holds one entry per repeated
    point (a lead), ``price_point[j]`` the index of the point lead j stands at; without it,
    ``price`` has one entry per point.
    """
    lat_a, lon_a = validate_latlon(lat, lon)
    lab = np.asarray(labels, dtype=np.int64).reshape(-1)
    if lab.size != lat_a.size:
        raise ValueError("labels and points differ in length")
    w = None if weights is None else np.asarray(weights, dtype=np.int64).reshape(-1)
    if w is not None and w.size != lat_a.size:
        raise ValueError("weights and points differ in length")
    price_a = None if price is None else as_float_array(price)
    owner = np.arange(lat_a.size) if price_point is None else np.asarray(price_point).reshape(-1)
    if price_a is not None and price_a.size != owner.size:
        raise ValueError("price and points differ in length")
    if owner.size and (owner.min() < 0 or owner.max() >= lat_a.size):
        raise ValueError("price_point refers to no point")
    cells_a = None if cells is None else np.asarray(cells, dtype=np.int64).reshape(-1)
    if cells_a is not None and cells_a.size != lat_a.size:
        raise ValueError("cells and points differ in length")

    ids, groups = _groups(lab)
    prices: list[FloatArray | None] = [None] * len(groups)
    if price_a is not None:
        known = np.isfinite(price_a)
        known_prices = price_a[known]
        _, price_groups = _groups(lab[owner[known]], ids)
        prices = [known_prices[idx] for idx in price_groups]
    out = [
        _summarize_one(
            int(cid),
            lat_a[idx],
            lon_a[idx],
            None if w is None else w[idx],
            prices[k],
            None if cells_a is None else cells_a[idx],
        )
        for k, (cid, idx) in enumerate(zip(ids, groups, strict=True))
    ]
    noise = lab < 0
    noise_count = int(np.count_nonzero(noise)) if w is None else int(w[noise].sum())
    return ClusterSummary(clusters=out, noise_count=noise_count)


def _groups(
    lab: NDArray[np.int64], ids: NDArray[np.int64] | None = None
) -> tuple[NDArray[np.int64], list[NDArray[np.intp]]]:
    """The clusters (labels >= 0, ascending, or `ids`) and the indexes of each one's members."""
    member = np.flatnonzero(lab >= 0)
    order = member[np.argsort(lab[member], kind="stable")]
    found, starts = np.unique(lab[order], return_index=True)
    parts = np.split(order, starts[1:]) if order.size else []
    if ids is None:
        return found, parts
    by_id = dict(zip(found.tolist(), parts, strict=True))
    empty = np.empty(0, dtype=np.intp)
    return ids, [by_id.get(i, empty) for i in ids.tolist()]


def _cell_vertices(cells: NDArray[np.int64]) -> tuple[FloatArray, FloatArray]:
    ring = [p for c in np.unique(cells).tolist() for p in h3.api.basic_int.cell_to_boundary(c)]
    return np.array([p[0] for p in ring]), np.array([p[1] for p in ring])


def _summarize_one(
    cid: int,
    lat: FloatArray,
    lon: FloatArray,
    weights: NDArray[np.int64] | None,
    known_prices: FloatArray | None,
    cells: NDArray[np.int64] | None,
) -> ClusterInfo:
    centre = LocalProjection.fit(lat, lon, weights=weights)
    if cells is None:
        # Unweighted, the centroid's projection is the points' own: fitted once (at 1M leads a
        # fit of a 900k-point cluster costs about a tenth of a second).
        hull, proj = hull_in_metres(lat, lon, centre if weights is None else None)
    else:
        hull, proj = hull_in_metres(*_cell_vertices(cells))
    area_km2 = float(hull.area) / 1e6 if isinstance(hull, shapely.Polygon) else 0.0
    known = known_prices if known_prices is not None else np.empty(0)
    size = int(lat.size) if weights is None else int(weights.sum())
    return ClusterInfo(
        cluster_id=cid,
        size=size,
        centroid_lat=centre.lat0,
        centroid_lon=centre.lon0,
        hull=geometry_to_geojson(_to_lonlat(hull, proj)),
        area_km2=area_km2,
        density_per_km2=size / area_km2 if area_km2 > 0.0 else None,
        median_price=float(np.median(known)) if known.size else None,
    )
