"""Ingestion throughput: leads per second end to end (parse → stored), as JSON on stdout.

    .venv/bin/python bench/ingest.py [--records 100000] [--postgres-url URL]
    .venv/bin/python bench/ingest.py --large [--large-rows 300000]
    .venv/bin/python bench/ingest.py --records 100000 --skip-sqlite --baseline-src ../main/src

`--baseline-src DIR` first runs the same measurement in a child process whose `aiqleads` is
imported from DIR (another checkout, e.g. main), then this one: old and new back to back, in
one JSON (`baseline` beside the rest).

`--large` writes the 313 MB CSV of field case C15 (tests/fixtures/field_cases, 300,000 rows in
the asl7168 Craigslist layout) and ingests it with `aiqleads ingest` in a child process on
SQLite, reporting the child's peak resident memory (bar: under 300 MB) and rows per second; the
plain file and its .gz.

Input: the bundled King County sales CSV replicated with distinct ids to --records rows. Each
copy moves its points 200 m north and raises its prices 10 % per copy, so that copies are new
homes for deduplication too, not merges. A second pass over the same input measures the
idempotent re-run (everything unchanged). PostgreSQL runs when --postgres-url or
AIQ_TEST_POSTGRES_URL is set: the URL is an administrative one, and the bench works in a
database of its own (aiq_bench_ingest) that it creates and drops, with the planner settings of
docs/operations/scaling.md (`PRODUCTION_PLANNER`, in the JSON as `planner`).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aiqleads.config import Settings
from aiqleads.db import migrate
from aiqleads.db.databases import drop_database, recreate_database
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.evaluation import (
    address_pairs,
    evaluate,
    field_case_pairs,
    labelled_pairs,
)
from aiqleads.ingestion.matching import MatchPolicy
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.sample.sources import KING_COUNTY_SALES

SECRET = "bench-secret-key-that-is-long-enough-0123456789"
BAR = 4000.0  # issue 8: leads per second, first pass, PostgreSQL, one core, 100k records
MEMORY_BAR_MB = 300
FIELD_CASES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "field_cases"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def replicated_csv(records: int) -> bytes:
    with gzip.open(KING_COUNTY_SALES, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for n in range(records):
        copy, index = divmod(n, len(rows))
        row = dict(rows[index])
        if copy:
            row["id"] = f"{row['id']}{copy:03d}"
            row["lat"] = f"{float(row['lat']) + 0.0018 * copy:.6f}"
            row["price"] = str(round(float(row["price"]) * (1 + 0.1 * copy)))
        writer.writerow(row)
    return out.getvalue().encode()


async def one_database(url: str, data: bytes, records: int) -> dict[str, Any]:
    settings = Settings(database_url=url, secret_key=SECRET)
    engine = create_engine(settings)
    try:
        await migrate.downgrade(engine, "base")
        await migrate.upgrade(engine)
        sessions = session_factory(engine)
        pipeline = Pipeline.from_settings(settings)
        passes = {}
        for name in ("first_pass", "rerun"):
            document = Document("kc_replicated.csv", "king_county_sales", data)
            server_before = await _server_cpu(engine)
            cpu_before = _own_cpu()
            started = time.perf_counter()
            summary = await pipeline.run(sessions, [document], metro=None, now=NOW)
            seconds = time.perf_counter() - started
            cpu = _own_cpu() - cpu_before
            server_after = await _server_cpu(engine)
            report = summary.as_dict()
            passes[name] = {
                "seconds": round(seconds, 2),
                "leads_per_second": round(records / seconds, 1),
                # CPU per record beside the wall clock: the machine is shared, so the wall
                # clock is noisy; the ingest process's own CPU and the database's are not.
                "ingest_cpu_us_per_record": round(cpu / records * 1e6, 1),
                "wall_us_per_record": round(seconds / records * 1e6, 1),
                "database_cpu_us_per_record": (
                    None
                    if server_before is None or server_after is None
                    else round((server_after - server_before) / records * 1e6, 1)
                ),
                "created": report["created"],
                "updated": report["updated"],
                "unchanged": report["unchanged"],
                "merged": report["merged"],
                "quarantined": report["quarantined"],
                "stage_seconds": {k: v["seconds"] for k, v in report["stages"].items()},
            }
        first = passes["first_pass"]["leads_per_second"]
        return {**passes, "meets_bar": first >= BAR}
    finally:
        await engine.dispose()


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _server_cpu(engine: AsyncEngine) -> float | None:
    """CPU seconds of this database's server processes so far (PostgreSQL on this machine: its
    backends serving this bench's database, from /proc); None elsewhere."""
    if engine.dialect.name != "postgresql":
        return None
    async with engine.connect() as conn:
        query = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        pids = list((await conn.execute(query)).scalars())
    return _proc_cpu(pids)


def _proc_cpu(pids: list[int]) -> float | None:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a remote server, or the backend just ended
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


BENCH_DB = "aiq_bench_ingest"


# The planner settings of docs/operations/scaling.md that the test server does not have (it
# keeps PostgreSQL's defaults, made for spinning disks): with random_page_cost 4, a batch's
# lookup of 2,000 keys reads the whole leads table from 50k rows on (a hashed seq scan, 13 ms
# a batch at 100k, growing with the table) where its index answers in 6 ms.
PRODUCTION_PLANNER = {"random_page_cost": "1.1"}


async def on_postgres(
    admin_url: str, data: bytes, records: int, database: str = BENCH_DB
) -> dict[str, Any]:
    url = await recreate_database(admin_url, database)
    try:
        engine = create_engine(Settings(database_url=url, secret_key=SECRET))
        async with engine.begin() as conn:
            for name, value in PRODUCTION_PLANNER.items():
                await conn.execute(text(f'ALTER DATABASE "{database}" SET {name} = {value}'))
        await engine.dispose()
        return {"planner": PRODUCTION_PLANNER, **await one_database(url, data, records)}
    finally:
        await drop_database(admin_url, database)


def baseline(src: str, argv: list[str]) -> dict[str, Any]:
    """This bench's throughput JSON with `aiqleads` imported from `src` (a child process)."""
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    run = subprocess.run(
        [sys.executable, __file__, *argv], env=env, check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(run.stdout)
    return {"src": src, **result}


async def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--postgres-url", default=os.environ.get("AIQ_TEST_POSTGRES_URL"))
    parser.add_argument("--large", action="store_true", help="the 313 MB file's peak memory")
    parser.add_argument("--large-rows", type=int, default=300_000)
    parser.add_argument(
        "--skip-throughput", action="store_true", help="only the dedupe pairs (no databases)"
    )
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--database", default=BENCH_DB, help="the PostgreSQL database to use")
    parser.add_argument("--baseline-src", help="also measure the aiqleads of this src, first")
    args = parser.parse_args(argv)
    if args.large:
        return {"large": large_file(args.large_rows)}
    result: dict[str, Any] = {
        "records": args.records,
        "bar_leads_per_second": BAR,
        "load_average_before": os.getloadavg(),
        "cpu_count": os.cpu_count(),
    }
    if args.baseline_src:
        child = [a for a in argv if a != "--baseline-src" and a != args.baseline_src]
        result["baseline"] = baseline(args.baseline_src, child)
        result["load_average_after_baseline"] = os.getloadavg()
    pairs = [
        *labelled_pairs(KING_COUNTY_SALES),
        *address_pairs(),
        *field_case_pairs(FIELD_CASES),
    ]
    scores = evaluate(pairs, MatchPolicy())
    result["dedupe_pairs"] = {
        "pairs": scores.pairs,
        "precision": scores.precision,
        "recall": scores.recall,
        "meets_bar": scores.precision >= 0.98 and scores.recall >= 0.95,
        "by_category": scores.by_category,
    }
    if args.skip_throughput:
        return result
    data = replicated_csv(args.records)
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            result["sqlite"] = await one_database(sqlite_url, data, args.records)
    if args.postgres_url:
        result["postgres"] = await on_postgres(args.postgres_url, data, args.records, args.database)
    else:
        result["postgres"] = {"skipped": "no --postgres-url and no AIQ_TEST_POSTGRES_URL"}
    result["load_average_after"] = os.getloadavg()
    return result


def large_file(rows: int) -> dict[str, Any]:
    """C15: write the file with the case's own generator, ingest it (plain, then .gz) with
    `aiqleads ingest` in a child process on a fresh SQLite database, and read the child's peak
    resident memory from the kernel (getrusage of the waited-for child)."""
    out: dict[str, Any] = {"rows": rows, "bar_peak_mb": MEMORY_BAR_MB}
    with tempfile.TemporaryDirectory(prefix="aiq-c15-") as tmp:
        folder = Path(tmp)
        shutil.copy(FIELD_CASES / "C07_craigslist_asl7168_weekly_daily_rent.csv", folder)
        subprocess.run(
            [sys.executable, str(FIELD_CASES / "C15_generate_large_csv.py"), str(rows)],
            cwd=folder,
            check=True,
        )
        plain = folder / "C15_craigslist_asl7168_large_300k.csv"
        packed = folder / "C15.csv.gz"
        with plain.open("rb") as src, gzip.open(packed, "wb", compresslevel=1) as dst:
            shutil.copyfileobj(src, dst)
        out["file_mb"] = round(plain.stat().st_size / 2**20, 1)
        for name, path in (("plain", plain), ("gz", packed)):
            out[name] = _ingest_child(path, folder / f"{name}.db")
    out["meets_bar"] = all(out[k]["peak_rss_mb"] < MEMORY_BAR_MB for k in ("plain", "gz"))
    return out


def _ingest_child(path: Path, db: Path) -> dict[str, Any]:
    env = {**os.environ, "AIQ_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    command = [sys.executable, "-m", "aiqleads"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    child = subprocess.Popen(
        [*command, "ingest", str(path), "--source", "craigslist_csv_asl7168", "--metro",
         "dallas", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert child.stdout is not None
    stdout = child.stdout.read()
    # wait4 gives this child's own peak resident size (RUSAGE_CHILDREN would be the largest of
    # every child so far).
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0
    seconds = time.perf_counter() - started
    peak_kb = usage.ru_maxrss
    summary = json.loads(stdout) if stdout else {}
    return {
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "seconds": round(seconds, 1),
        "rows_per_second": round(summary.get("read", 0) / seconds, 1),
        "read": summary.get("read"),
        "created": summary.get("created"),
        "merged": summary.get("merged"),
        "quarantined": summary.get("quarantined"),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:])), indent=2))
