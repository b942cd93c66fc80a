"""Geospatial features of leads from the market around them: pure code, no I/O.

The population is the market: leads on it now or sold on it (`leads.status.OFFERED`, the set
the geo package's competition and penetration count), at their exact points (features are
internal; only the score's bucket is ever shown). Both paths call `geo_values`: batch with the
whole population, online with the part of it a lead can reach (its radius and its H3 ring), so
every count is over the same leads. A lead is never its own neighbour.

Values (in `GEO_NAMES` order):
- leads_nearby: population leads within `radius_m` (great-circle, exact:
  `geo.neighbors.count_within_sphere`, which lists no pairs, so memory stays linear however
  dense the market);
- competitors_nearby: population leads with a listing agent or office within `radius_m`
  (geo.competitors' definition), counted the same way;
- cluster_distance_km: great-circle distance to the nearest centre of a DBSCAN cluster of the
  lead's metro (geo.dbscan), capped at `far_km`, which is also the value when there is none;
- nbhd_median_price_usd, nbhd_comparables: median asking price and count of the population
  leads of the lead's kind in its H3 resolution-8 cell and the ring around it (h3 grid_disk
  k=1); rents are per month (`asking_price_cents` is stored per month, see `price_period`);
  0 and 0 when there are none;
- price_vs_nbhd: asking price / that median - 1 (-0.12: 12 % below); 0 when either is unknown;
- approx_location_share: share of population leads of any kind in the same 7 cells whose
  point is approximate (geocode precision not "exact"); 0 when there are none.
A lead without a point (or cell) gets 0 for the counts and shares, `far_km` for the distance.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np
from numpy.typing import NDArray

from aiqleads.geo.neighbors import (
    PointSet,
    count_within_sphere,
    fit_common_projection,
    nearest_within,
    within_sphere,
)
from aiqleads.geo.projection import LocalProjection

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

GEO_NAMES: tuple[str, ...] = (
    "leads_nearby",
    "competitors_nearby",
    "cluster_distance_km",
    "nbhd_median_price_usd",
    "nbhd_comparables",
    "price_vs_nbhd",
    "approx_location_share",
)


@dataclass(frozen=True, slots=True)
class Places:
    """Leads as columns: `lat`/`lon` NaN and `cell` -1 where unknown, `price_usd` NaN where
    unknown, `scope` the metro slug (or the outside-metros scope) clusters are made within."""

    ids: IntArray
    lat: FloatArray
    lon: FloatArray
    kind: list[str]
    price_usd: FloatArray
    cell: IntArray
    approximate: BoolArray
    listed: BoolArray
    scope: list[str]

    def __post_init__(self) -> None:
        n = self.ids.size
        sizes = {
            a.size
            for a in (self.lat, self.lon, self.price_usd, self.cell, self.approximate, self.listed)
        }
        if sizes != {n} or len(self.kind) != n or len(self.scope) != n:
            raise ValueError("Places columns differ in length")

    @classmethod
    def concat(cls, parts: Sequence[Places]) -> Places:
        """The parts' places one after another (no part: no place)."""

        def joined(column: str, dtype: type) -> NDArray[Any]:
            arrays = [getattr(p, column) for p in parts]
            return np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)

        return cls(
            joined("ids", np.int64),
            joined("lat", np.float64),
            joined("lon", np.float64),
            [k for p in parts for k in p.kind],
            joined("price_usd", np.float64),
            joined("cell", np.int64),
            joined("approximate", np.bool_),
            joined("listed", np.bool_),
            [s for p in parts for s in p.scope],
        )

    def take(self, index: IntArray) -> Places:
        return Places(
            self.ids[index],
            self.lat[index],
            self.lon[index],
            [self.kind[i] for i in index.tolist()],
            self.price_usd[index],
            self.cell[index],
            self.approximate[index],
            self.listed[index],
            [self.scope[i] for i in index.tolist()],
        )


Centres = Mapping[str, tuple[FloatArray, FloatArray]]
"""Cluster centres (lat, lon in degrees) per scope."""


def geo_values(
    queries: Places, population: Places, centres: Centres, *, radius_m: float, far_km: float
) -> FloatArray:
    """An (n queries, len(GEO_NAMES)) array of the values above; never NaN."""
    n = queries.ids.size
    out = np.zeros((n, len(GEO_NAMES)), dtype=np.float64)
    out[:, 2] = far_km
    if n == 0:
        return out
    q_loc = np.flatnonzero(np.isfinite(queries.lat) & np.isfinite(queries.lon))
    p_loc = np.flatnonzero(np.isfinite(population.lat) & np.isfinite(population.lon))
    if q_loc.size and p_loc.size:
        out[q_loc, 0] = _count_near(queries.take(q_loc), population.take(p_loc), radius_m)
        comp = p_loc[population.listed[p_loc]]
        if comp.size:
            out[q_loc, 1] = _count_near(queries.take(q_loc), population.take(comp), radius_m)
    if q_loc.size:
        out[q_loc, 2] = _centre_distance_km(queries.take(q_loc), centres, far_km)
    out[:, 3:7] = _neighbourhood(queries, population)
    return out


def _count_near(q: Places, p: Places, radius_m: float) -> FloatArray:
    """Per query, the places of `p` within `radius_m`, the query itself left out (`p` holds
    each id once, as every read of the market does)."""
    counts = count_within_sphere(q.lat, q.lon, p.lat, p.lon, radius_m)
    # The query's own row in `p` was counted only if it lies within the radius of the query's
    # point: the build reads the two a page at a time, and a lead geocoded again between two
    # reads is at one place in `q` and another in `p`.
    if p.ids.size:
        order = np.argsort(p.ids, kind="stable")
        at = order[np.minimum(np.searchsorted(p.ids, q.ids, sorter=order), p.ids.size - 1)]
        own = np.flatnonzero(p.ids[at] == q.ids)
        counted = within_sphere(q.lat[own], q.lon[own], p.lat[at[own]], p.lon[at[own]], radius_m)
        counts[own[counted]] -= 1
    return counts.astype(np.float64)


def _centre_distance_km(q: Places, centres: Centres, far_km: float) -> FloatArray:
    from scipy.spatial import cKDTree

    out = np.full(q.ids.size, far_km)
    by_scope: dict[str, list[int]] = defaultdict(list)
    for i, scope in enumerate(q.scope):
        by_scope[scope].append(i)
    for scope, members in by_scope.items():
        c_lat, c_lon = centres.get(scope, (np.empty(0), np.empty(0)))
        if c_lat.size == 0:
            continue
        idx = np.asarray(members, dtype=np.int64)
        proj = fit_common_projection((q.lat[idx], q.lon[idx]), (c_lat, c_lon))
        cs = PointSet.build(c_lat, c_lon, proj)
        _, dist = nearest_within(
            PointSet.build(q.lat[idx], q.lon[idx], proj), cs, cKDTree(cs.xy), proj
        )
        out[idx] = np.minimum(dist / 1000.0, far_km)
    return out


def _neighbourhood(q: Places, p: Places) -> FloatArray:
    """Columns nbhd_median_price_usd, nbhd_comparables, price_vs_nbhd, approx_location_share."""
    out = np.zeros((q.ids.size, 4), dtype=np.float64)
    prices: dict[tuple[str, int], list[float]] = defaultdict(list)
    places: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # cell -> [leads, approximate]
    p_cell, p_price, p_approx = p.cell.tolist(), p.price_usd.tolist(), p.approximate.tolist()
    for kind, cell, price, approx in zip(p.kind, p_cell, p_price, p_approx, strict=True):
        if cell < 0:
            continue
        tally = places[cell]
        tally[0] += 1
        tally[1] += approx
        if math.isfinite(price):
            prices[(kind, cell)].append(price)
    position = {v: i for i, v in enumerate(p.ids.tolist())}
    # Every lead of one kind in one cell has the same neighbourhood but for itself: sort its
    # prices, and tally its leads, once per (kind, cell).
    disks: dict[int, tuple[list[int], int, int]] = {}  # cell -> (disk, leads, approximate)
    comparables: dict[tuple[str, int], list[float]] = {}
    q_price = q.price_usd.tolist()
    for i, (lead_id, cell, kind) in enumerate(
        zip(q.ids.tolist(), q.cell.tolist(), q.kind, strict=True)
    ):
        if cell < 0:
            continue
        known = disks.get(cell)
        if known is None:
            ring = sorted(h3.api.basic_int.grid_disk(cell, 1))
            tallies = [places[c] for c in ring if c in places]
            known = disks[cell] = (ring, sum(t[0] for t in tallies), sum(t[1] for t in tallies))
        disk, leads, approx = known
        found = comparables.get((kind, cell))
        if found is None:
            found = comparables[(kind, cell)] = sorted(
                v for c in disk for v in prices.get((kind, c), ())
            )
        drop: float | None = None
        me = position.get(lead_id)
        if me is not None and p_cell[me] in disk:
            # Leave the lead itself out of its own neighbourhood.
            leads -= 1
            approx -= p_approx[me]
            if math.isfinite(p_price[me]) and p.kind[me] == kind:
                drop = p_price[me]
        n = len(found) - (drop is not None)
        if n > 0:
            median = median_without(found, drop)
            out[i, 0] = median
            out[i, 1] = n
            if math.isfinite(q_price[i]) and median > 0.0:
                out[i, 2] = q_price[i] / median - 1.0
        if leads > 0:
            out[i, 3] = approx / leads
    return out


def median_without(ordered: list[float], drop: float | None) -> float:
    """The median of an ascending list with one occurrence of `drop` left out (none when
    None), without copying it: the mean of the two middle values for an even count.

    Raises ValueError when nothing is left or `drop` is not in the list."""
    if drop is None:
        m, skip = len(ordered), len(ordered)
    else:
        skip = bisect.bisect_left(ordered, drop)
        if skip == len(ordered) or ordered[skip] != drop:
            raise ValueError(f"{drop} is not in the list")
        m = len(ordered) - 1
    if m <= 0:
        raise ValueError("no values left for a median")

    def at(k: int) -> float:
        return ordered[k + 1] if k >= skip else ordered[k]

    if m % 2:
        return at(m // 2)
    return (at(m // 2 - 1) + at(m // 2)) / 2.0


def cluster_centres(
    lat: FloatArray, lon: FloatArray, labels: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Each cluster's centre (the centre geo.clusters gives it: `LocalProjection.fit`'s), in
    cluster order; noise (-1) is no cluster."""
    ids = np.unique(labels[labels >= 0])
    c_lat = np.empty(ids.size)
    c_lon = np.empty(ids.size)
    for k, cid in enumerate(ids.tolist()):
        member = labels == cid
        centre = LocalProjection.fit(lat[member], lon[member])
        c_lat[k], c_lon[k] = centre.lat0, centre.lon0
    return c_lat, c_lon
