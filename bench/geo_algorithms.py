"""Benchmark of the geo analytics core; prints one JSON document.

Points: King County sale locations (../shared/data) resampled with Gaussian jitter of 300 m,
fixed seed, so density looks like a real metro. Each case runs in a child process so peak
memory (ru_maxrss, and tracemalloc for numpy allocations) does not mix between cases.

    .venv/bin/python bench/geo_algorithms.py --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

DATA = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tabular" / "kc_house_data.csv"
)
EARTH_M_PER_DEG = 111_195.0


def synthetic_points(n: int, seed: int = 20261126) -> tuple[np.ndarray, np.ndarray]:
    with DATA.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    lat = np.array([float(r["lat"]) for r in rows])
    lon = np.array([float(r["long"]) for r in rows])
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, lat.size, n)
    jitter = rng.normal(0.0, 300.0, (n, 2))
    out_lat = lat[pick] + jitter[:, 0] / EARTH_M_PER_DEG
    out_lon = lon[pick] + jitter[:, 1] / (EARTH_M_PER_DEG * np.cos(np.radians(lat[pick])))
    return out_lat, out_lon


def _labels_path(folder: str, kind: str, n: int, eps_m: float, min_samples: int) -> Path:
    return Path(folder) / f"{kind}_{n}_{eps_m:g}_{min_samples}.npy"


def _case(kind: str, n: int, eps_m: float, min_samples: int, folder: str, queue: Any) -> None:
    from sklearn.cluster import DBSCAN

    from aiqleads.geo.dbscan import dbscan
    from aiqleads.geo.heatmap import aggregate_cells, cells_for_points, h3_heatmap
    from aiqleads.geo.projection import EARTH_RADIUS_M

    lat, lon = synthetic_points(n)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    out: dict[str, Any] = {"case": kind, "n": n}
    t0 = time.perf_counter()
    if kind == "dbscan":
        res = dbscan(lat, lon, eps_m, min_samples)
        out.update(eps_m=eps_m, min_samples=min_samples, clusters=res.n_clusters)
        labels = res.labels
    elif kind == "sklearn":
        model = DBSCAN(
            eps=eps_m / EARTH_RADIUS_M,
            min_samples=min_samples,
            metric="haversine",
            algorithm="ball_tree",
        ).fit(np.radians(np.column_stack((lat, lon))))
        labels = model.labels_
        out.update(eps_m=eps_m, min_samples=min_samples, clusters=int(labels.max()) + 1)
    elif kind == "heatmap_int_cells":
        tracemalloc.stop()
        cells = cells_for_points(lat, lon, 8)  # stored in the leads table: not timed
        tracemalloc.start()
        t0 = time.perf_counter()
        agg = aggregate_cells(cells)
        t_agg = time.perf_counter() - t0
        fc = h3_heatmap(agg)
        out.update(res=8, cells=len(fc["features"]), aggregate_s=round(t_agg, 4))
        labels = None
    elif kind == "heatmap_raw_points":
        fc = h3_heatmap(aggregate_cells(cells_for_points(lat, lon, 8)))
        out.update(res=8, cells=len(fc["features"]))
        labels = None
    else:
        raise ValueError(kind)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out["peak_traced_mb"] = round(peak / 2**20, 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["rss_before_mb"] = round(base_rss / 1024, 1)
    if labels is not None:
        np.save(_labels_path(folder, kind, n, eps_m, min_samples), labels)
    queue.put(out)


def run_case(
    kind: str, n: int, folder: str, eps_m: float = 250.0, min_samples: int = 10
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_case, args=(kind, n, eps_m, min_samples, folder, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--sklearn-max", type=int, default=200_000, help="largest n for sklearn")
    parser.add_argument(
        "--params",
        default="250:10,1000:50",
        help="comma-separated eps_m:min_samples cases for our DBSCAN",
    )
    args = parser.parse_args()
    params = [(float(p.split(":")[0]), int(p.split(":")[1])) for p in args.params.split(",")]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        for n in args.sizes:
            for eps_m, ms in params:
                results.append(run_case("dbscan", n, folder, eps_m, ms))
            if n <= args.sklearn_max:
                eps_m, ms = params[0]
                sk = run_case("sklearn", n, folder, eps_m, ms)
                ours = np.load(_labels_path(folder, "dbscan", n, eps_m, ms))
                theirs = np.load(_labels_path(folder, "sklearn", n, eps_m, ms))
                sk["ari_vs_ours"] = round(float(adjusted_rand_score(theirs, ours)), 6)
                sk["same_noise_points"] = bool(np.array_equal(theirs == -1, ours == -1))
                results.append(sk)
            results.append(run_case("heatmap_int_cells", n, folder))
            results.append(run_case("heatmap_raw_points", n, folder))
    print(json.dumps({"benchmark": "geo_algorithms", "results": results}, indent=1))


if __name__ == "__main__":
    main()
