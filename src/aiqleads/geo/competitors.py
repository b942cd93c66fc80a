"""Competition around an agent's leads: listing brokerages and other (anonymised) buyers.

Competitor points carry an office name (listing agents / brokerages) or ``None`` (anonymised
other buyers). Distances are exact great-circle metres: a k-d tree on projected metres with an
inflated radius finds candidates, haversine decides (see ``projection`` and ``neighbors``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import h3
import numpy as np
from numpy.typing import ArrayLike, NDArray

from aiqleads.geo.neighbors import (
    IntArray,
    PointSet,
    count_within,
    fit_common_projection,
    iter_pairs_within,
    nearest_within,
)
from aiqleads.geo.projection import FloatArray, validate_latlon


@dataclass(frozen=True, slots=True)
class NearbyCompetitors:
    """Per query point: competitors within the radius, and the nearest one (index, metres).

    ``nearest_index`` is -1 and ``nearest_m`` is ``inf`` when there are no competitors at all.
    ``top_offices`` lists (office, count) of distinct competitor points within the radius of any
    query point, most first, ties by name; anonymised competitors are not listed.
    """

    count: IntArray
    nearest_index: IntArray
    nearest_m: FloatArray
    top_offices: list[tuple[str, int]]


def competitors_near(
    query_lat: ArrayLike,
    query_lon: ArrayLike,
    comp_lat: ArrayLike,
    comp_lon: ArrayLike,
    radius_m: float,
    *,
    offices: Sequence[str | None] | None = None,
    top_n: int = 5,
    weights: ArrayLike | None = None,
) -> NearbyCompetitors:
    """Count, nearest distance and top-N offices of competitors around the query points.

    ``weights``: how many competitors stand at each competitor point (whole numbers, 1 each by
    default), as when agents' competitors are grouped by preview place: counts and office
    tallies are those of the points repeated by their weights; the nearest distance is the
    same, and ``nearest_index`` is then the index of the place. Raises ValueError for bad
    coordinates, radius, offices or weights.
    """
    if not radius_m > 0.0:
        raise ValueError("radius_m must be positive")
    q_lat, q_lon = validate_latlon(query_lat, query_lon)
    c_lat, c_lon = validate_latlon(comp_lat, comp_lon)
    if offices is not None and len(offices) != c_lat.size:
        raise ValueError("offices and competitor points differ in length")
    w = None if weights is None else np.asarray(weights).reshape(-1)
    if w is not None and (w.size != c_lat.size or (w.size and (w < 1).any())):
        raise ValueError("weights must be one whole number of at least 1 per competitor point")
    if q_lat.size == 0 or c_lat.size == 0:
        return NearbyCompetitors(
            np.zeros(q_lat.size, dtype=np.int64),
            np.full(q_lat.size, -1, dtype=np.int64),
            np.full(q_lat.size, np.inf),
            [],
        )
    from scipy.spatial import cKDTree  # imported when used: see aiqleads.geo.neighbors

    proj = fit_common_projection((q_lat, q_lon), (c_lat, c_lon))
    query = PointSet.build(q_lat, q_lon, proj)
    comps = PointSet.build(c_lat, c_lon, proj)
    tree = cKDTree(comps.xy)
    if w is None:
        counts = count_within(query, comps, tree, proj, radius_m)
    else:
        counts = np.zeros(q_lat.size, dtype=np.int64)
        for qi, pj, _ in iter_pairs_within(query, comps, tree, proj, radius_m):
            counts += np.bincount(qi, weights=w[pj], minlength=q_lat.size).astype(np.int64)
    nearest, dist = nearest_within(query, comps, tree, proj)
    top: list[tuple[str, int]] = []
    if offices is not None and top_n > 0:
        near_any = np.zeros(c_lat.size, dtype=bool)
        for _, pj, _ in iter_pairs_within(query, comps, tree, proj, radius_m):
            near_any[pj] = True
        tally: Counter[str] = Counter()
        each = [1] * c_lat.size if w is None else w.tolist()
        for o, hit, k in zip(offices, near_any.tolist(), each, strict=True):
            if hit and o:
                tally[o] += int(k)
        top = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]
    return NearbyCompetitors(counts, nearest, dist, top)


@dataclass(frozen=True, slots=True)
class CellCompetition:
    """Per H3 cell (ascending; the union of cells with leads or competitors).

    ``per_km2`` = competitors in the cell / the cell's exact area (``h3.cell_area``);
    ``per_lead`` = competitors / the agent's leads in the cell, NaN where there are none.
    Per km² compares places; per lead says how contested each of the agent's leads is.
    """

    cells: NDArray[np.int64]
    competitors: IntArray
    leads: IntArray
    per_km2: FloatArray
    per_lead: FloatArray


def competition_by_cell(
    competitor_cells: ArrayLike, lead_cells: ArrayLike, competitor_weights: ArrayLike | None = None
) -> CellCompetition:
    """Competition intensity per H3 cell from int64 cells of the same resolution;
    ``competitor_weights``: competitors per entry of ``competitor_cells`` (1 each by default)."""
    comp = np.asarray(competitor_cells, dtype=np.int64).reshape(-1)
    leads = np.asarray(lead_cells, dtype=np.int64).reshape(-1)
    cw = None if competitor_weights is None else np.asarray(competitor_weights).reshape(-1)
    if cw is not None and cw.size != comp.size:
        raise ValueError("competitor cells and weights differ in length")
    cells = np.union1d(comp, leads)
    n_comp = np.bincount(np.searchsorted(cells, comp), weights=cw, minlength=cells.size).astype(
        np.int64
    )
    n_leads = np.bincount(np.searchsorted(cells, leads), minlength=cells.size).astype(np.int64)
    area = np.fromiter(
        (h3.api.basic_int.cell_area(int(c), unit="km^2") for c in cells.tolist()),
        dtype=np.float64,
        count=cells.size,
    )
    per_lead = np.divide(
        n_comp.astype(np.float64), n_leads, out=np.full(cells.size, np.nan), where=n_leads > 0
    )
    return CellCompetition(cells, n_comp, n_leads, n_comp / area, per_lead)
