"""Compare two sets of benchmark outputs figure by figure; prints one JSON document.

    .venv/bin/python bench/compare.py OLD.json NEW.json
    .venv/bin/python bench/compare.py --old OLD1.json OLD2.json --new NEW1.json NEW2.json
        [--bar 1.2]

Each file is the JSON a benchmark printed (bench/catalog.py, bench/geo.py). Several files per
side are repeats of the same run: a figure's value on a side is the median of its repeats. Every
numeric leaf gets a path ("postgres/100000/http/agent/c1/by_query/zip/p95_ms",
"sqlite/100000/agent/heatmap_cold_ms_median") and, when it is a cost, a ratio:

* times (`..._ms`, `..._ms_median`, `..._ms_p95`, `..._ms_per_request`, `..._s`) and memory
  (`..._mb`):
  `ratio` = new / old;
* throughputs (`..._per_s`): `ratio` = old / new, so that above 1 is worse in both cases;
* a single sample (`max_ms`) and the set-up (generating and bulk-loading the rows, which the
  application does not do) are reported but not judged against the bar;
* anything else (counts of cells, clusters, regions) is reported when it differs.

`within_bar` is true when `ratio` <= `--bar` (1.2: the rule may cost at most 20 %).
`--markdown` prints the judged figures as a table instead (figure, old, new, ratio, bar).

How the disclosure rule's cost was measured (issue 7): bench/catalog.py and bench/geo.py also
run on the code before the rule, so each runs on both, back to back, on one machine:

    git worktree add --detach ../baseline c636f83
    for side in old new; do
        src=$([ $side = old ] && echo ../baseline/src || echo src)
        PYTHONPATH=$src .venv/bin/python bench/geo.py --sizes 100000 > geo.$side.json
    done
    .venv/bin/python bench/compare.py geo.old.json geo.new.json

repeated a few times (`--old geo.old.1.json geo.old.2.json --new ...`: medians of repeats).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

SETUP = ("load_seconds", "load_s", "generate_s", "load_rows_per_s", "rss_before_mb")
SINGLE_SAMPLES = ("max_ms", "first_request_heatmap_ms")


def _label(item: dict[str, Any]) -> str:
    """A stable name for one element of a list of results."""
    if "backend" in item and "leads" in item:  # catalog case
        return f"{item['backend']}/{item['leads']}"
    if "database" in item and "n" in item:  # geo case
        return f"{item['database']}/{item['n']}"
    if "role" in item and "concurrency" in item:  # catalog HTTP run, closed loop
        return f"{item['role']}/c{item['concurrency']}"
    if "role" in item and "offered_rate_hz" in item:  # catalog HTTP run, open loop
        return f"{item['role']}/rate{item['offered_rate_hz']:g}"
    if "concurrency" in item:  # catalog HTTP run before roles were measured: the agent's
        return f"agent/c{item['concurrency']}"
    raise ValueError(f"cannot name list element with keys {sorted(item)[:8]}")


def flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    """Numeric and string leaves of a benchmark document by path."""
    out: dict[str, Any] = {}
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key in ("code", "notes", "bar", "benchmark", "cpu_count"):
                continue
            out.update(flatten(value, f"{prefix}{key}/"))
    elif isinstance(doc, list):
        for item in doc:
            out.update(flatten(item, f"{prefix}{_label(item)}/"))
    elif isinstance(doc, bool) or doc is None:
        pass
    elif isinstance(doc, int | float):
        out[prefix.rstrip("/")] = float(doc)
    return out


def kind(path: str) -> str:
    """cost, throughput, single (not judged), setup (not judged) or info."""
    name = path.rsplit("/", 1)[-1]
    if name in SETUP:
        return "setup"
    if name in SINGLE_SAMPLES:
        return "single"
    if name.endswith("_per_s"):
        return "throughput"
    if name.endswith(("_ms", "_ms_median", "_ms_p95", "_ms_per_request", "_s", "_mb")):
        return "cost"
    return "info"


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def compare(old_docs: list[Any], new_docs: list[Any], bar: float) -> dict[str, Any]:
    old_runs = [flatten(d.get("results", d)) for d in old_docs]
    new_runs = [flatten(d.get("results", d)) for d in new_docs]
    paths = sorted({p for run in (*old_runs, *new_runs) for p in run})
    figures: list[dict[str, Any]] = []
    only: dict[str, list[str]] = {"old": [], "new": []}
    for path in paths:
        olds = [r[path] for r in old_runs if path in r]
        news = [r[path] for r in new_runs if path in r]
        if not olds or not news:
            only["old" if olds else "new"].append(path)
            continue
        old, new = _median(olds), _median(news)
        k = kind(path)
        row: dict[str, Any] = {"figure": path, "kind": k, "old": old, "new": new}
        if len(olds) > 1 or len(news) > 1:
            row.update(old_runs=olds, new_runs=news)
        if k in ("cost", "throughput", "single", "setup"):
            num, den = (new, old) if k != "throughput" else (old, new)
            row["ratio"] = round(num / den, 3) if den > 0 else None
            if k in ("cost", "throughput"):
                row["within_bar"] = row["ratio"] is None or row["ratio"] <= bar
        elif old == new:
            continue
        figures.append(row)
    judged = [f for f in figures if "within_bar" in f]
    over = sorted((f for f in judged if not f["within_bar"]), key=lambda f: -(f["ratio"] or 0))
    return {
        "bar_ratio": bar,
        "old_repeats": len(old_docs),
        "new_repeats": len(new_docs),
        "judged": len(judged),
        "over_bar": [{"figure": f["figure"], "ratio": f["ratio"]} for f in over],
        "figures": figures,
        "only_in": only,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="OLD.json NEW.json")
    parser.add_argument("--old", nargs="+", type=Path, default=[])
    parser.add_argument("--new", nargs="+", type=Path, default=[])
    parser.add_argument("--bar", type=float, default=1.2, help="largest allowed new/old ratio")
    parser.add_argument("--markdown", action="store_true", help="a table of the judged figures")
    args = parser.parse_args(argv)
    old, new = list(args.old), list(args.new)
    if args.files:
        if len(args.files) != 2 or old or new:
            parser.error("give OLD.json NEW.json, or --old ... --new ...")
        old, new = [args.files[0]], [args.files[1]]
    if not old or not new:
        parser.error("need at least one file on each side")
    docs = {
        side: [json.loads(p.read_text()) for p in files]
        for side, files in (("old", old), ("new", new))
    }
    result = compare(docs["old"], docs["new"], args.bar)
    result["old_files"] = [str(p) for p in old]
    result["new_files"] = [str(p) for p in new]
    print(markdown(result) if args.markdown else json.dumps(result, indent=1))


def markdown(result: dict[str, Any]) -> str:
    """The judged figures as a Markdown table."""
    lines = ["| figure | old | new | ratio | bar |", "|---|---:|---:|---:|---|"]
    for f in result["figures"]:
        if "within_bar" not in f:
            continue
        ok = "ok" if f["within_bar"] else f"OVER {result['bar_ratio']}"
        lines.append(f"| {f['figure']} | {f['old']:g} | {f['new']:g} | {f['ratio']} | {ok} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
