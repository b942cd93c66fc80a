"""Neighbour counts within a great-circle radius, as the "lead_geo" features count them for
every lead each hour (leads_nearby, competitors_nearby); prints one JSON document.

    .venv/bin/python bench/neighbour_counts.py [--sizes 100000 1000000] [--radii 250 1000]
        [--baseline-max 200000]

Points: `n` leads in one metro placed as `bench/catalog.py` places the catalog, HTTP and geo
benchmarks' leads (around King County's ZIP centroids, Gaussian spread of about 1.1 km), each
counted against all of them. Each case runs in a fresh child process, so its peak resident
memory is its own:

* `sphere`: `geo.neighbors.count_within_sphere`, the features' count (a 3-d k-d tree over
  unit vectors, counts by chord without listing pairs);
* `planar_band`: `geo.neighbors.count_within` (projected k-d tree; pairs in the projection's
  distortion band listed and checked by haversine), what the features used before;
* `sklearn_balltree`: scikit-learn's BallTree with the haversine metric,
  `query_radius(count_only=True)`, the library baseline.

The two baselines run up to `--baseline-max` points. For each case: seconds, peak RSS (MiB),
RSS after the points were made (MiB), and whether its counts equal the `sphere` ones.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import time
from queue import Empty
from typing import TYPE_CHECKING, Any

import numpy as np

from aiqleads.kit.distance import EARTH_RADIUS_M

if TYPE_CHECKING:
    from bench.catalog import king_county_zips
    from bench.serving import rss_mb
else:
    from catalog import king_county_zips
    from serving import rss_mb

CASES = ("sphere", "planar_band", "sklearn_balltree")


def points(n: int, seed: int = 20261202) -> tuple[np.ndarray, np.ndarray]:
    """`n` (lat, lon) in degrees, with the benchmarks' catalog's density."""
    centres = np.array([(lat, lon) for _, lat, lon, _ in king_county_zips()])
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(centres), n)
    lat = centres[pick, 0] + rng.normal(0.0, 0.01, n)
    lon = centres[pick, 1] + rng.normal(0.0, 0.014, n)
    return lat, lon


def _count(kind: str, lat: np.ndarray, lon: np.ndarray, radius_m: float) -> np.ndarray:
    if kind == "sphere":
        from aiqleads.geo.neighbors import count_within_sphere

        return count_within_sphere(lat, lon, lat, lon, radius_m)
    if kind == "planar_band":
        from scipy.spatial import cKDTree

        from aiqleads.geo.neighbors import PointSet, count_within, fit_common_projection

        proj = fit_common_projection((lat, lon), (lat, lon))
        pts = PointSet.build(lat, lon, proj)
        return count_within(pts, pts, cKDTree(pts.xy), proj, radius_m)
    from sklearn.neighbors import BallTree

    xy = np.radians(np.column_stack((lat, lon)))
    counts: np.ndarray = BallTree(xy, metric="haversine").query_radius(
        xy, radius_m / EARTH_RADIUS_M, count_only=True
    )
    return counts.astype(np.int64)


def _child(kind: str, n: int, radius_m: float, queue: Any) -> None:
    lat, lon = points(n)
    before = rss_mb(os.getpid()) or float("nan")
    started = time.perf_counter()
    counts = _count(kind, lat, lon, radius_m)
    seconds = time.perf_counter() - started
    queue.put(
        {
            "seconds": round(seconds, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rss_with_points_mb": round(before, 1),
            "mean_count": round(float(counts.mean()), 1),
            "counts": counts,
        }
    )


def run_case(kind: str, n: int, radius_m: float) -> tuple[dict[str, Any], np.ndarray]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(kind, n, radius_m, queue))
    proc.start()
    # A child that raises or is killed (out of memory) sends nothing: poll rather than wait.
    while True:
        try:
            found = queue.get(timeout=1.0)
            break
        except Empty:
            if not proc.is_alive():
                raise RuntimeError(
                    f"{kind} at n={n} exited with {proc.exitcode} before its figures"
                ) from None
    proc.join()
    counts = found.pop("counts")
    return found, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--radii", type=float, nargs="+", default=[250.0, 1000.0])
    parser.add_argument("--baseline-max", type=int, default=200_000)
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for n in args.sizes:
        for radius_m in args.radii:
            row: dict[str, Any] = {"n": n, "radius_m": radius_m}
            reference: np.ndarray | None = None
            for kind in CASES:
                if kind != "sphere" and n > args.baseline_max:
                    row[kind] = {"skipped": f"n > --baseline-max {args.baseline_max}"}
                    continue
                figures, counts = run_case(kind, n, radius_m)
                if reference is None:
                    reference = counts
                figures["same_counts_as_sphere"] = bool(np.array_equal(counts, reference))
                row[kind] = figures
            results.append(row)
    summary = {"benchmark": "neighbour_counts", "cpus": mp.cpu_count(), "runs": results}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
