"""DBSCAN over (lat, lon) with a radius in metres: the exact haversine-DBSCAN answer, fast.

Same core points and the same clusters as scikit-learn's ``DBSCAN(metric="haversine")`` with
``eps = eps_m / EARTH_RADIUS_M`` on radians (a point counts itself towards ``min_samples``).

How (a grid DBSCAN in the style of Gunawan 2013, made exact on the sphere):

1. Project to local metres (``projection``) and bucket points into square cells of side
   ``r_in / sqrt 2``, where ``r_in`` is the planar radius below which a pair is surely within
   ``eps_m`` on the sphere. Any two points of one cell are therefore neighbours.
2. Core points: every point of a cell holding ``min_samples`` points is core. Other points ask
   the k-d tree for their ``min_samples`` nearest planar neighbours; if the last is inside
   ``r_in`` the point is core, if none is inside the superset radius ``r_out`` it is not, and
   the few in between are counted exactly with haversine.
3. Clusters: core points of one cell are mutually connected, so clusters are connected
   components of *core cells*. Two core cells within two cells of each other (more where the
   projection stretches distances by over sqrt 2, far from its centre) are joined when
   some pair of their core points is within ``eps_m`` (haversine). A cheap test first pairs the
   extreme core points of the two cells facing each other; pairs still in different components
   are then checked exhaustively in bounded batches, re-running the components between batches
   so already-joined pairs are skipped.
4. Border points (non-core with a core point within ``eps_m``) join the cluster of their
   nearest core point by haversine distance, ties to the smallest core point index.
   scikit-learn instead gives a border point to whichever cluster reaches it first, so border
   labels may differ from it only where a border point touches two clusters.
5. Labels: clusters are numbered 0, 1, … in order of their smallest point index (core or
   border); noise is -1. The result depends only on the input, never on timing or threads.

Memory: no pair list is ever stored; the working set is O(n) arrays plus batches bounded by
``max_pairs`` candidates, so 1M points at eps 1 km stay well under 500 MB.

Weights: ``weights[i]`` points standing at point i (agents' leads all stand at their preview
cells' centres, a few thousand places for a million leads). A point is core when the weights
within ``eps_m`` (its own included) reach ``min_samples``; the rest is unchanged. This is
exactly DBSCAN over the points repeated by their weights, copies kept together: copies are at
distance 0 from each other, so they share core status and cluster, and a border point's
nearest core point is a place, ties going to the smallest index, which is the place's first
copy when places are numbered in order of their first copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aiqleads.geo.neighbors import (
    DEFAULT_MAX_PAIRS,
    IntArray,
    PointSet,
    count_within,
    iter_pairs_within,
    nearest_within,
)
from aiqleads.geo.projection import (
    LocalProjection,
    haversine_reduced,
    reduced_threshold,
    validate_latlon,
)

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

BoolArray = NDArray[np.bool_]


def _half_block(reach: int) -> tuple[tuple[int, int], ...]:
    """Half of the (2 reach + 1)^2 block of cell offsets (the other half is symmetric)."""
    return (
        *((0, dy) for dy in range(1, reach + 1)),
        *((dx, dy) for dx in range(1, reach + 1) for dy in range(-reach, reach + 1)),
    )


@dataclass(frozen=True, slots=True)
class DbscanResult:
    """``labels``: cluster per point (-1 = noise); ``core``: core-point mask."""

    labels: IntArray
    core: BoolArray

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0


@dataclass(frozen=True, slots=True)
class _Grid:
    key: IntArray  # cell key per point
    ny: int
    keys: IntArray  # the distinct cell keys, ascending
    cell: IntArray  # per point, its cell's position in `keys`
    # How many cells apart two points within r_out can be: 2 wherever the projection
    # stretches distances by less than sqrt 2 (data within ~80° of its centre), more beyond.
    reach: int


def _grid(xy: NDArray[np.float64], side: float, r_out: float) -> _Grid:
    reach = max(2, math.ceil(r_out / side))
    ix = np.floor((xy[:, 0] - xy[:, 0].min()) / side).astype(np.int64)
    # A margin of `reach` rows on each side lets iy + dy stay inside its row without wrapping.
    iy = np.floor((xy[:, 1] - xy[:, 1].min()) / side).astype(np.int64) + reach
    ny = int(iy.max()) + reach + 1
    key = ix * ny + iy
    keys, cell = np.unique(key, return_inverse=True)
    return _Grid(key, ny, keys, cell.reshape(-1), reach)


def _near(grid: _Grid, query: IntArray) -> IntArray:
    """Positions (ascending) of the points whose cell lies within `grid.reach` cells of a
    query point's, in both directions (the 5 x 5 block around it, as a rule). Every point
    within ``r_out`` of a query point is among them. So a search for the few points that need
    one runs on a tree of their surroundings, not of every point (at 1M points, 97 % of them
    core by their cell alone, building the trees of all points took a third of the time)."""
    steps = np.arange(-grid.reach, grid.reach + 1, dtype=np.int64)
    block = (steps[:, None] * grid.ny + steps[None, :]).reshape(-1)
    around = (grid.keys[np.unique(grid.cell[query])][:, None] + block[None, :]).reshape(-1)
    near_cell = np.isin(grid.keys, around)
    return np.flatnonzero(near_cell[grid.cell])


def dbscan(
    lat: ArrayLike,
    lon: ArrayLike,
    eps_m: float,
    min_samples: int,
    *,
    weights: ArrayLike | None = None,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> DbscanResult:
    """Cluster points given in degrees; ``eps_m`` is a great-circle radius in metres.

    ``weights``: how many points each point stands for (integers >= 1; see the module
    docstring). Raises ValueError for bad coordinates, radius, ``min_samples`` or weights.
    """
    lat_a, lon_a = validate_latlon(lat, lon)
    if not eps_m > 0.0:
        raise ValueError("eps_m must be positive")
    if min_samples < 1:
        raise ValueError("min_samples must be at least 1")
    w = None if weights is None else _checked_weights(weights, lat_a.size)
    n = lat_a.size
    if n == 0:
        return DbscanResult(np.empty(0, dtype=np.int64), np.empty(0, dtype=bool))

    proj = LocalProjection.fit(lat_a, lon_a)
    pts = PointSet.build(lat_a, lon_a, proj)
    side = proj.inner_radius(eps_m) / np.sqrt(2.0)
    if side <= 0.0:
        raise ValueError("eps_m is too small to resolve")
    grid = _grid(pts.xy, side, proj.outer_radius(eps_m))
    if w is None:
        core = _core_points(pts, proj, grid, eps_m, min_samples, max_pairs)
    else:
        core = _weighted_core_points(pts, proj, grid, eps_m, min_samples, w, max_pairs)
    core_idx = np.flatnonzero(core)
    labels = np.full(n, -1, dtype=np.int64)
    if core_idx.size == 0:
        return DbscanResult(labels, core)

    cell_comp, core_cell = _cluster_core_cells(pts, proj, grid, core_idx, eps_m, max_pairs)
    labels[core_idx] = cell_comp[core_cell]
    del core_idx, core_cell
    _label_border_points(pts, proj, grid, core, labels, eps_m)
    # The points and the grid are gone by now: renumbering is the last peak.
    del pts, grid
    return DbscanResult(_renumber(labels), core)


def _label_border_points(
    pts: PointSet,
    proj: LocalProjection,
    grid: _Grid,
    core: BoolArray,
    labels: IntArray,
    eps_m: float,
) -> None:
    """Give each non-core point within ``eps_m`` of a core point the label of its nearest core
    point (ties to the smallest index), in place. The candidates are the core points around
    the non-core ones (`_near`), kept in index order so that ties still go to the smallest."""
    border_query = np.flatnonzero(~core)
    if border_query.size == 0:
        return
    around = _near(grid, border_query)
    candidates = around[core[around]]
    if candidates.size == 0:
        return
    core_pts = pts.subset(candidates)
    nearest, _ = nearest_within(
        pts, core_pts, _tree(core_pts), proj, eps_m, query_index=border_query
    )
    hit = nearest >= 0
    labels[border_query[hit]] = labels[candidates[nearest[hit]]]


def _core_points(
    pts: PointSet,
    proj: LocalProjection,
    grid: _Grid,
    eps_m: float,
    min_samples: int,
    max_pairs: int,
) -> BoolArray:
    core: BoolArray = np.bincount(grid.cell)[grid.cell] >= min_samples
    rest = np.flatnonzero(~core)
    if rest.size == 0:
        return core
    # Every neighbour of the points left to judge is among these (`_near`).
    around = pts.subset(_near(grid, rest))
    tree = _tree(around)
    r_in, r_out = proj.inner_radius(eps_m), proj.outer_radius(eps_m)
    unsure: list[IntArray] = []
    step = max(1, max_pairs // min_samples)
    for start in range(0, rest.size, step):
        part = rest[start : start + step]
        dist, _ = tree.query(pts.xy[part], k=[min_samples], distance_upper_bound=r_out)
        kth = dist[:, 0]
        core[part[kth <= r_in]] = True
        unsure.append(part[(kth > r_in) & np.isfinite(kth)])
    band = np.concatenate(unsure) if unsure else np.empty(0, dtype=np.int64)
    if band.size:
        exact = count_within(pts, around, tree, proj, eps_m, query_index=np.sort(band))
        core[np.sort(band)[exact >= min_samples]] = True
    return core


def _tree(points: PointSet) -> cKDTree:
    from scipy.spatial import cKDTree  # imported when used: see aiqleads.geo.neighbors

    return cKDTree(points.xy)


def _checked_weights(weights: ArrayLike, n: int) -> IntArray:
    raw = np.asarray(weights).reshape(-1)
    if raw.size != n:
        raise ValueError("weights and points differ in length")
    w = raw.astype(np.int64)
    if not np.array_equal(w, raw) or (w.size and int(w.min()) < 1):
        raise ValueError("weights must be whole numbers of at least 1")
    return w


def _weighted_core_points(
    pts: PointSet,
    proj: LocalProjection,
    grid: _Grid,
    eps_m: float,
    min_samples: int,
    weights: IntArray,
    max_pairs: int,
) -> BoolArray:
    """Core points by the weights within ``eps_m``: every point of a grid cell whose weights
    reach ``min_samples`` is core (any two of its points are neighbours); the others sum the
    weights of their exact (haversine) neighbours, in chunks of at most ``max_pairs`` pairs."""
    # Sums of whole numbers in float64 are exact below 2**53.
    core: BoolArray = np.bincount(grid.cell, weights=weights)[grid.cell] >= min_samples
    rest = np.flatnonzero(~core)
    if rest.size:
        near = _near(grid, rest)
        around, around_weights = pts.subset(near), weights[near]
        within = np.zeros(rest.size, dtype=np.float64)
        for qi, pj, _ in iter_pairs_within(
            pts, around, _tree(around), proj, eps_m, query_index=rest, max_pairs=max_pairs
        ):
            within += np.bincount(
                np.searchsorted(rest, qi), weights=around_weights[pj], minlength=rest.size
            )
        core[rest[within >= min_samples]] = True
    return core


def _cluster_core_cells(
    pts: PointSet,
    proj: LocalProjection,
    grid: _Grid,
    core_idx: IntArray,
    eps_m: float,
    max_pairs: int,
) -> tuple[IntArray, IntArray]:
    """Component id per core cell, and the core cell of each core point (core_idx order)."""
    order = core_idx[np.argsort(grid.key[core_idx], kind="stable")]
    cell_keys, starts, sizes = np.unique(grid.key[order], return_index=True, return_counts=True)
    cell_of_sorted = np.repeat(np.arange(cell_keys.size, dtype=np.int64), sizes)
    m = cell_keys.size
    limit = reduced_threshold(eps_m)

    pairs_a: list[IntArray] = []
    pairs_b: list[IntArray] = []
    half_block = _half_block(grid.reach)
    for dx, dy in half_block:
        target = cell_keys + dx * grid.ny + dy
        pos = np.minimum(np.searchsorted(cell_keys, target), m - 1)
        ok = cell_keys[pos] == target
        pairs_a.append(np.flatnonzero(ok))
        pairs_b.append(pos[ok])
    cand_a = np.concatenate(pairs_a)
    cand_b = np.concatenate(pairs_b)
    offsets = np.repeat(np.arange(len(half_block)), [a.size for a in pairs_a])
    del pairs_a, pairs_b  # a second copy of the candidates (tens of MB at 1M points)

    # Cheap test: the core points of A and B that lie furthest towards each other.
    xs, ys = pts.xy[order, 0], pts.xy[order, 1]
    joined = np.zeros(cand_a.size, dtype=bool)
    for k, (dx, dy) in enumerate(half_block):
        sel = np.flatnonzero(offsets == k)
        if sel.size == 0:
            continue
        toward = dx * xs
        toward += dy * ys  # dx * xs + dy * ys, without a third array of n floats
        a_pt = order[_group_extreme(toward, starts, cell_of_sorted, largest=True)[cand_a[sel]]]
        b_pt = order[_group_extreme(toward, starts, cell_of_sorted, largest=False)[cand_b[sel]]]
        red = haversine_reduced(
            pts.lat_rad[a_pt], pts.lon_rad[a_pt], pts.lat_rad[b_pt], pts.lon_rad[b_pt]
        )
        joined[sel] = red <= limit

    edge_a, edge_b = [cand_a[joined]], [cand_b[joined]]
    comp = _components(m, edge_a, edge_b)
    todo = np.flatnonzero(~joined)
    todo = todo[comp[cand_a[todo]] != comp[cand_b[todo]]]
    cost = sizes[cand_a[todo]] * sizes[cand_b[todo]]
    todo = todo[np.argsort(cost, kind="stable")]
    while todo.size:
        batch, todo = _take_batch(todo, sizes[cand_a[todo]] * sizes[cand_b[todo]], max_pairs)
        hit = _exact_cell_pairs(
            pts,
            order,
            starts,
            sizes,
            cand_a[batch],
            cand_b[batch],
            limit,
            proj.outer_radius(eps_m),
            max_pairs,
        )
        edge_a.append(cand_a[batch][hit])
        edge_b.append(cand_b[batch][hit])
        if hit.any():
            comp = _components(m, edge_a, edge_b)
            todo = todo[comp[cand_a[todo]] != comp[cand_b[todo]]]

    # Each core point's position in core_idx, by a scatter (core_idx is ascending).
    position = np.empty(pts.xy.shape[0], dtype=np.int64)
    position[core_idx] = np.arange(core_idx.size, dtype=np.int64)
    core_cell = np.empty(core_idx.size, dtype=np.int64)
    core_cell[position[order]] = cell_of_sorted
    return comp, core_cell


def _group_extreme(
    values: NDArray[np.float64], starts: IntArray, group: IntArray, *, largest: bool
) -> IntArray:
    """Position (in sorted order) of the first max (or min) value of each contiguous group."""
    reduce = np.maximum if largest else np.minimum
    best = reduce.reduceat(values, starts)
    # Every group holds its extreme, so the positions equal to it (ascending, a few more than
    # there are groups) hold each group's first at the start of its run.
    hit = np.flatnonzero(values == best[group])
    hit_group = group[hit]  # ascending: each group's first hit is where the group changes
    changes = np.flatnonzero(hit_group[1:] != hit_group[:-1]) + 1
    first: IntArray = hit[np.concatenate(([0], changes))]
    return first


def _components(m: int, edge_a: list[IntArray], edge_b: list[IntArray]) -> IntArray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a = np.concatenate(edge_a)
    b = np.concatenate(edge_b)
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(m, m)).tocsr()
    _, comp = connected_components(graph, directed=False)
    return np.asarray(comp, dtype=np.int64)


def _take_batch(todo: IntArray, cost: IntArray, max_pairs: int) -> tuple[IntArray, IntArray]:
    stop = max(1, int(np.searchsorted(np.cumsum(cost), max_pairs, side="right")))
    return todo[:stop], todo[stop:]


def _exact_cell_pairs(
    pts: PointSet,
    order: IntArray,
    starts: IntArray,
    sizes: IntArray,
    cell_a: IntArray,
    cell_b: IntArray,
    limit: float,
    r_out: float,
    max_pairs: int,
) -> BoolArray:
    """For each cell pair, whether any core point of A is within eps of one of B."""
    hit = np.zeros(cell_a.size, dtype=bool)
    for p in range(cell_a.size):
        if sizes[cell_a[p]] * sizes[cell_b[p]] > max_pairs:
            hit[p] = _exact_big_pair(
                pts, order, starts, sizes, cell_a[p], cell_b[p], limit, max_pairs
            )
    small = np.flatnonzero(sizes[cell_a] * sizes[cell_b] <= max_pairs)
    if small.size == 0:
        return hit
    ca, cb = cell_a[small], cell_b[small]
    n_a, n_b = sizes[ca], sizes[cb]
    per_pair = n_a * n_b
    pair_id = np.repeat(np.arange(small.size, dtype=np.int64), per_pair)
    within = np.arange(pair_id.size, dtype=np.int64) - np.repeat(
        np.cumsum(per_pair) - per_pair, per_pair
    )
    i = order[starts[ca][pair_id] + within // n_b[pair_id]]
    j = order[starts[cb][pair_id] + within % n_b[pair_id]]
    d2 = ((pts.xy[i] - pts.xy[j]) ** 2).sum(axis=1)
    near = d2 <= r_out * r_out
    i, j, pair_id = i[near], j[near], pair_id[near]
    red = haversine_reduced(pts.lat_rad[i], pts.lon_rad[i], pts.lat_rad[j], pts.lon_rad[j])
    hit[small[np.unique(pair_id[red <= limit])]] = True
    return hit


def _exact_big_pair(
    pts: PointSet,
    order: IntArray,
    starts: IntArray,
    sizes: IntArray,
    a: np.int64,
    b: np.int64,
    limit: float,
    max_pairs: int,
) -> bool:
    pa = order[starts[a] : starts[a] + sizes[a]]
    pb = order[starts[b] : starts[b] + sizes[b]]
    step = max(1, max_pairs // pb.size)
    for s in range(0, pa.size, step):
        i = pa[s : s + step, None]
        red = haversine_reduced(pts.lat_rad[i], pts.lon_rad[i], pts.lat_rad[pb], pts.lon_rad[pb])
        if bool((red <= limit).any()):
            return True
    return False


def _renumber(labels: IntArray) -> IntArray:
    """Number clusters 0, 1, … by their smallest point index; keep -1 for noise."""
    member = np.flatnonzero(labels >= 0)
    if member.size == 0:
        return labels
    _, first = np.unique(labels[member], return_index=True)  # first = smallest index per label
    old = labels[member][first]
    rank = np.empty(old.size, dtype=np.int64)
    rank[np.argsort(member[first], kind="stable")] = np.arange(old.size, dtype=np.int64)
    out = labels.copy()
    out[member] = rank[np.searchsorted(old, labels[member])]
    return out
