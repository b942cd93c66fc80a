"""Market penetration per region (ZIP or H3 cell) for the requesting agent and the marketplace.

Definitions (per region, counting leads whose region key is known):

* ``offered``: the supply, i.e. what the brief calls "available": leads that have been put on
  the market and not taken off it, status ``available``, ``held`` or ``sold``. Leads still
  ``new`` (not yet released), ``withdrawn``, ``expired`` or ``returned`` (sold, then refunded)
  are not supply: nobody could buy them, or the sale did not stand.
* ``available_now``: of those, the ones an agent could still take (``available`` or ``held``;
  a hold expires, so a held lead is still supply).
* ``sold``: status ``sold``. ``bought_by_agent``: sold and bought by the requesting agent.
* ``agent_penetration = bought_by_agent / offered`` and
  ``market_penetration = sold / offered``; ``None`` when ``offered`` is 0.

Using the offered supply as the denominator keeps both ratios in [0, 1] and stable over time:
a sale moves a lead from available to sold without changing the denominator.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from aiqleads.geo.geojson import GeoJSON, feature, feature_collection
from aiqleads.geo.legend import legend, quantile_breaks, quantile_classes

OFFERED_STATUSES = frozenset({"available", "held", "sold"})
OPEN_STATUSES = frozenset({"available", "held"})
Metric = Literal["agent", "market"]


@dataclass(frozen=True, slots=True)
class RegionPenetration:
    region: Hashable
    offered: int
    available_now: int
    sold: int
    bought_by_agent: int
    agent_penetration: float | None
    market_penetration: float | None


def _missing(key: object) -> bool:
    if key is None or key == "":
        return True
    return isinstance(key, int | np.integer) and int(key) < 0


def penetration_by_region(
    region_keys: Sequence[Hashable] | ArrayLike,
    statuses: Sequence[str] | ArrayLike,
    bought_by_agent: ArrayLike,
) -> list[RegionPenetration]:
    """One row per region that has at least one lead, ordered by region key.

    Region keys may be ZIP strings or int64 H3 cells; ``None``, ``""`` or a negative integer
    marks a lead outside every region, which is left out.
    """
    keys = list(np.asarray(region_keys, dtype=object).reshape(-1))
    status = np.asarray(statuses, dtype=object).reshape(-1)
    mine = np.asarray(bought_by_agent, dtype=bool).reshape(-1)
    if not len(keys) == status.size == mine.size:
        raise ValueError("region_keys, statuses and bought_by_agent differ in length")
    present = np.array([not _missing(k) for k in keys], dtype=bool)
    idx = np.flatnonzero(present)
    if idx.size == 0:
        return []
    key_arr = np.array([keys[i] for i in idx.tolist()], dtype=object)
    if all(isinstance(k, int | np.integer) for k in key_arr):
        key_arr = key_arr.astype(np.int64)
    else:
        key_arr = key_arr.astype(str)
    uniq, inverse = np.unique(key_arr, return_inverse=True)
    st = status[idx]
    offered = np.isin(st, list(OFFERED_STATUSES))
    open_ = np.isin(st, list(OPEN_STATUSES))
    sold = st == "sold"
    bought = sold & mine[idx]

    def per_region(mask: np.ndarray[Any, np.dtype[np.bool_]]) -> list[int]:
        counts = np.bincount(inverse, weights=mask.astype(np.float64), minlength=uniq.size)
        return [int(c) for c in counts]

    n_off, n_open, n_sold, n_mine = (per_region(m) for m in (offered, open_, sold, bought))
    return [
        RegionPenetration(
            region=key.item() if isinstance(key, np.generic) else key,
            offered=n_off[r],
            available_now=n_open[r],
            sold=n_sold[r],
            bought_by_agent=n_mine[r],
            agent_penetration=n_mine[r] / n_off[r] if n_off[r] else None,
            market_penetration=n_sold[r] / n_off[r] if n_off[r] else None,
        )
        for r, key in enumerate(uniq.tolist())
    ]


def penetration_geojson(
    rows: Sequence[RegionPenetration],
    geometry_for: Callable[[Hashable], GeoJSON | None],
    *,
    metric: Metric = "market",
    k: int = 5,
) -> GeoJSON:
    """Features with region polygons, the numbers, and a quantile ``class`` of ``metric``.

    ``geometry_for`` maps a region key to its GeoJSON geometry (e.g. ``ZipRegions.geojson`` or
    ``heatmap.cell_polygon``); regions it returns ``None`` for are left out. Regions with no
    supply get class -1. The legend carries the breaks (upper bounds) of the classes.
    """
    values = np.array(
        [np.nan if (v := getattr(r, f"{metric}_penetration")) is None else float(v) for r in rows],
        dtype=np.float64,
    )
    breaks = quantile_breaks(values, k)
    classes = quantile_classes(values, breaks)
    feats = []
    for row, cls in zip(rows, classes.tolist(), strict=True):
        geom = geometry_for(row.region)
        if geom is None:
            continue
        props: dict[str, Any] = asdict(row)
        props["class"] = cls
        feats.append(feature(geom, props, fid=str(row.region)))
    return feature_collection(feats, metric=metric, legend=legend(values, k))


def penetration_from_counts(
    region_keys: ArrayLike,
    statuses: Sequence[str],
    bought_by_agent: ArrayLike,
    counts: ArrayLike,
) -> list[RegionPenetration]:
    """``penetration_by_region`` for rows already grouped by (region, status, mine), as a
    database GROUP BY returns them; integer region keys, negative = outside every region.

    Vectorised over the groups, so the cost does not grow with the number of leads.
    """
    keys = np.asarray(region_keys, dtype=np.int64).reshape(-1)
    st = np.asarray(list(statuses), dtype=object).reshape(-1)
    mine = np.asarray(bought_by_agent, dtype=bool).reshape(-1)
    n = np.asarray(counts, dtype=np.int64).reshape(-1)
    if not keys.size == st.size == mine.size == n.size:
        raise ValueError("region_keys, statuses, bought_by_agent and counts differ in length")
    keep = keys >= 0
    keys, st, mine, n = keys[keep], st[keep], mine[keep], n[keep]
    uniq, inverse = np.unique(keys, return_inverse=True)

    def per_region(mask: np.ndarray[Any, np.dtype[np.bool_]]) -> list[int]:
        sums = np.bincount(inverse, weights=np.where(mask, n, 0), minlength=uniq.size)
        return [int(c) for c in sums]

    sold = st == "sold"
    n_off, n_open, n_sold, n_mine = (
        per_region(m)
        for m in (
            np.isin(st, list(OFFERED_STATUSES)),
            np.isin(st, list(OPEN_STATUSES)),
            sold,
            sold & mine,
        )
    )
    return [
        RegionPenetration(
            region=int(key),
            offered=n_off[r],
            available_now=n_open[r],
            sold=n_sold[r],
            bought_by_agent=n_mine[r],
            agent_penetration=n_mine[r] / n_off[r] if n_off[r] else None,
            market_penetration=n_sold[r] / n_off[r] if n_off[r] else None,
        )
        for r, key in enumerate(uniq.tolist())
    ]
