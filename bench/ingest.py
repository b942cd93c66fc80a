"""Ingestion throughput: leads per second end to end (parse → stored), as JSON on stdout.

    .venv/bin/python bench/ingest.py [--records 100000] [--postgres-url URL]

Input: the bundled King County sales CSV replicated with distinct ids to --records rows. Each
copy moves its points 200 m north and raises its prices 10 % per copy, so that copies are new
homes for deduplication too, not merges. A second pass over the same input measures the
idempotent re-run (everything unchanged). PostgreSQL runs when --postgres-url or
AIQ_TEST_POSTGRES_URL is set: the URL is an administrative one, and the bench works in a
database of its own (aiq_bench_ingest) that it creates and drops.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import io
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiqleads.config import Settings
from aiqleads.db import migrate
from aiqleads.db.databases import drop_database, recreate_database
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.evaluation import evaluate, labelled_pairs
from aiqleads.ingestion.matching import MatchPolicy
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.sample.sources import KING_COUNTY_SALES

SECRET = "bench-secret-key-that-is-long-enough-0123456789"
BAR = 2000.0
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def replicated_csv(records: int) -> bytes:
    with gzip.open(KING_COUNTY_SALES, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for n in range(records):
        copy, row = divmod(n, len(rows))
        row = dict(rows[n % len(rows)])
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
            started = time.perf_counter()
            summary = await pipeline.run(sessions, [document], metro=None, now=NOW)
            seconds = time.perf_counter() - started
            report = summary.as_dict()
            passes[name] = {
                "seconds": round(seconds, 2),
                "leads_per_second": round(records / seconds, 1),
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


BENCH_DB = "aiq_bench_ingest"


async def on_postgres(admin_url: str, data: bytes, records: int) -> dict[str, Any]:
    url = await recreate_database(admin_url, BENCH_DB)
    try:
        return await one_database(url, data, records)
    finally:
        await drop_database(admin_url, BENCH_DB)


async def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--postgres-url", default=os.environ.get("AIQ_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    data = replicated_csv(args.records)
    result: dict[str, Any] = {"records": args.records, "bar_leads_per_second": BAR}
    scores = evaluate(labelled_pairs(KING_COUNTY_SALES), MatchPolicy())
    result["dedupe_pairs"] = {
        "pairs": scores.pairs,
        "precision": scores.precision,
        "recall": scores.recall,
        "by_category": scores.by_category,
    }
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        result["sqlite"] = await one_database(sqlite_url, data, args.records)
    if args.postgres_url:
        result["postgres"] = await on_postgres(args.postgres_url, data, args.records)
    else:
        result["postgres"] = {"skipped": "no --postgres-url and no AIQ_TEST_POSTGRES_URL"}
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:])), indent=2))
