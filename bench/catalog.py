"""Catalog search latency through the HTTP API at 100k and 1M leads, on SQLite and PostgreSQL.

    .venv/bin/python bench/catalog.py [--sizes 100000 1000000] [--backends sqlite postgres]
        [--postgres-url postgresql+asyncpg://...] [--requests 200] [--concurrency 1]
        [--roles agent admin] [--rate 8] [--rate-rounds 30]

Leads are generated around the real ZIP centroids of King County, WA (the `zipcodes` package),
bulk-loaded (SQLite executemany, PostgreSQL COPY) with every column the write path
(`aiqleads.leads.writes`) would derive, then one `aiqleads serve` process answers a mix of
typical searches, for each role: a basic-tier agent (the hot path: previews, locations on the
preview cell) and an admin (exact points), from a fixed number of clients (closed loop) and at a
fixed rate (open loop: `--rate`). Each query type reports p50/p95/max in milliseconds;
`/health` is measured in the same run as the HTTP floor, and the default search's SQL run
straight on the database as the query floor; the server's CPU time per request is given beside
the latencies, as a figure that other processes sharing the cores move less. Prints one JSON
document. The bar (DESIGN.md section 7): p95 < 50 ms at 1M leads on PostgreSQL, for agents.

The script also runs against the code before the disclosure rule (migration 0006), so that its
cost is measured with the same data and the same query mix (`bench/compare.py` gives the
ratios): rows then leave out the columns that code lacks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from aiqleads.config import Settings
from aiqleads.db import migrate
from aiqleads.db.databases import drop_database, recreate_database
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.ingestion.normalize.coordinates import _zip_table
from aiqleads.kit.crypto import FieldCipher, blind_index, generate_key
from aiqleads.kit.h3cells import cells_for
from aiqleads.leads.pricing import RULES_VERSION
from aiqleads.models import Lead
from aiqleads.models.enums import Role, Tier

try:  # what the write path derives (migration 0006 on)
    from aiqleads.kit.places import city_key
    from aiqleads.leads.scores import score_bucket
    from aiqleads.leads.writes import derived_location
except ImportError:  # the code before the disclosure rule, measured for comparison
    derived_location = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from bench.serving import cpu_seconds, free_port, percentiles, rss_mb, wait_ready
else:
    from serving import cpu_seconds, free_port, percentiles, rss_mb, wait_ready

SECRET = "bench-secret-key-0123456789abcdef-0123456789"
KEYS = generate_key("bench")
PASSWORD = "bench password 1"
ROLES = {"agent": "basic@example.com", "admin": "admin@example.com"}
NOW = datetime.now(UTC)
COLUMNS = [c.name for c in Lead.__table__.columns if c.name != "id"]


def king_county_zips() -> list[tuple[str, float, float, str]]:
    table = _zip_table()
    return [
        (z, info.lat, info.lon, info.city.title())
        for z, info in table.items()
        if info.state == "WA" and 47.08 <= info.lat <= 47.78 and -122.54 <= info.lon <= -121.06
    ]


def generate(n: int, seed: int = 1) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    zips = king_county_zips()
    cipher = FieldCipher(KEYS)
    # Encrypting a million values would time the benchmark's set-up, not the catalog.
    names = [cipher.encrypt(f"Owner {i}") for i in range(500)]
    phones = [f"+1206555{100 + i:04d}"[:12] for i in range(100)]
    phone_enc = [cipher.encrypt(p) for p in phones]
    phone_mac = [blind_index(SECRET, p) for p in phones]
    emails = [cipher.encrypt(f"owner{i}@example.com") for i in range(500)]
    kinds = ["fsbo", "for_sale", "for_sale", "for_rent", "expired"]
    for i in range(n):
        z, lat0, lon0, city = zips[i % len(zips)]
        lat = lat0 + rng.gauss(0, 0.01)
        lon = lon0 + rng.gauss(0, 0.014)
        if derived_location is None:
            r7, r8, r9 = cells_for(lat, lon)
            location: dict[str, Any] = {"h3_r7": r7, "h3_r8": r8, "h3_r9": r9, "metro": "seattle"}
        else:
            location = derived_location(lat, lon)
        published = NOW - timedelta(minutes=rng.randrange(1, 60 * 24 * 90))
        p = rng.randrange(100)
        # As before the rule: one lead in ten reported sold by its source (RESO "Closed").
        sold = rng.random() >= 0.9
        score = round(rng.random(), 3)
        row = {
            "public_id": uuid.uuid4(),
            "source": "bench",
            "source_ref": f"b{i}",
            "source_url": None,
            "kind": kinds[i % len(kinds)],
            "status": "sold" if sold else "available",
            "listing_status": "Closed" if sold else "Active",
            "title": None,
            "property_type": "single_family",
            "bedrooms": rng.randrange(1, 6),
            "bathrooms": rng.choice([1.0, 1.5, 2.0, 2.5, 3.0]),
            "living_area_sqft": rng.randrange(600, 4000),
            "lot_sqft": rng.randrange(1000, 20000),
            "year_built": rng.randrange(1900, 2024),
            "asking_price_cents": rng.randrange(150_000, 2_000_000) * 100,
            "currency": "USD",
            "street_address": f"{i} Bench St",
            "address_key": f"{i} bench st||{z}",
            "unit": None,
            "city": city,
            "city_key": city_key(city) if derived_location is not None else None,
            "state": "WA",
            "zip_code": z,
            "latitude": lat,
            "longitude": lon,
            "geocode_precision": "exact",
            **location,
            "owner_name_enc": names[i % 500],
            "owner_phone_enc": phone_enc[p],
            "owner_email_enc": emails[i % 500],
            "owner_phone_hmac": phone_mac[p],
            "listing_agent": None,
            "listing_office": None,
            "listed_at": published - timedelta(days=rng.randrange(30)),
            "published_at": published,
            "first_seen_at": published,
            "updated_at": published,
            "score": score,
            "score_bucket": score_bucket(score) if derived_location is not None else None,
            "model_version": RULES_VERSION,
            "price_cents": rng.randrange(500, 5001),
            "price_currency": "USD",
        }
        if "price_period" in COLUMNS:  # since migration 0013: rents per month, sales once
            row["price_period"] = "month" if row["kind"] == "for_rent" else "sale"
        # Columns this generator has no value for (contacts with provenance, screening, …) stay
        # empty, as on a lead whose source gave none.
        yield tuple(row.get(c) for c in COLUMNS)


def load_sqlite(path: Path, n: int) -> None:
    """Insert `n` generated leads into the migrated SQLite file at `path`, as fast as SQLite
    takes them: the leads' named indexes are dropped first and built again after the load
    (one sort each, instead of a million random B-tree inserts into 18 indexes that outgrow
    the page cache: the load at 1M took over 29 minutes), no rollback journal and no fsync
    while loading (a failed load is thrown away), and a page cache large enough for the
    unique indexes SQLite keeps (their keys are random UUIDs). The geo tallies' insert
    trigger stays: it appends a row per lead, as the write path does."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")  # KiB: 1 GB at most, used as the indexes grow
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master"
        " WHERE type = 'index' AND tbl_name = 'leads' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    columns, marks = ", ".join(COLUMNS), ", ".join("?" * len(COLUMNS))
    sql = f"INSERT INTO leads ({columns}) VALUES ({marks})"  # noqa: S608 (fixed column names)

    def adapt(row: tuple[Any, ...]) -> tuple[Any, ...]:
        # Stored the way SQLAlchemy stores them on SQLite: UUID as 32 hex, naive UTC text.
        return tuple(
            v.hex
            if isinstance(v, uuid.UUID)
            else v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
            if isinstance(v, datetime)
            else v
            for v in row
        )

    batch: list[tuple[Any, ...]] = []
    for row in generate(n):
        batch.append(adapt(row))
        if len(batch) == 20_000:
            conn.executemany(sql, batch)
            batch.clear()
    conn.executemany(sql, batch)
    conn.commit()
    for _, create in indexes:
        conn.execute(create)
    conn.commit()
    conn.execute("ANALYZE")
    # What the application's connections use (db.engine); set back on the file for the rest.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()


async def load_postgres(url: str, n: int) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table("leads", records=generate(n), columns=COLUMNS)
    finally:
        await conn.close()
    # In a fresh session, so that no snapshot of the load holds the visibility map back: the
    # catalog's index-only scans need pages marked all-visible, as autovacuum keeps them in
    # production.
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(20):  # a snapshot elsewhere (autovacuum, a load just ended) may hold it back
            await conn.execute("VACUUM (ANALYZE) leads")
            visible = await conn.fetchval(
                "SELECT relallvisible::float / greatest(relpages, 1) FROM pg_class"
                " WHERE relname = 'leads'"
            )
            if visible >= 0.99:
                return
            await asyncio.sleep(2)
        raise RuntimeError(f"only {visible:.0%} of leads pages are all-visible after VACUUM")
    finally:
        await conn.close()


async def prepare(settings: Settings, n: int, sqlite_path: Path | None) -> float:
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    from aiqleads.auth import service

    async with transaction(session_factory(engine)) as session:
        for email, role, tier in (
            ("ent@example.com", Role.AGENT, Tier.ENTERPRISE),
            (ROLES["agent"], Role.AGENT, Tier.BASIC),
            (ROLES["admin"], Role.ADMIN, Tier.ENTERPRISE),
        ):
            await service.create_account(
                session, email=email, password=PASSWORD, role=role, tier=tier, now=NOW
            )
    await engine.dispose()
    start = time.perf_counter()
    if sqlite_path is not None:
        await asyncio.to_thread(load_sqlite, sqlite_path, n)
    else:
        await load_postgres(settings.database_url, n)
    return time.perf_counter() - start


def query_mix(rng: random.Random, zips: list[str], cursor: str | None) -> dict[str, dict[str, Any]]:
    z = rng.choice(zips)
    lat, lon = 47.45 + rng.random() * 0.3, -122.35 + rng.random() * 0.3
    return {
        "newest": {},
        "zip": {"zip": z},
        "zip_beds_price": {"zip": z, "beds_min": 3, "price_max": 900_000},
        "bbox_price": {
            "bbox": f"{lon:.4f},{lat:.4f},{lon + 0.05:.4f},{lat + 0.04:.4f}",
            "price_min": 300_000,
            "price_max": 1_200_000,
        },
        "city_kind": {"city": "Seattle", "kind": "fsbo"},
        "cheapest_leads": {"sort": "price"},
        "asking_price_asc": {"sort": "asking_price", "beds_min": 2},
        "next_page": {"cursor": cursor} if cursor else {},
    }


async def measure_http(
    base: str, role: str, requests: int, concurrency: int, rate: float | None = None
) -> dict[str, Any]:
    """The query mix for `role`, `requests` rounds of it in a shuffled order: closed loop
    (`concurrency` clients, each sending its next request when the last is answered) or, with
    `rate`, open loop (requests sent at Poisson arrivals of `rate` per second whatever the
    answers, each timed from the moment it was due, so a slow server's backlog counts)."""
    rng = random.Random(3)
    zips = [z for z, *_ in king_county_zips()]
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        token = (
            await client.post(
                "/api/v1/auth/token", data={"username": ROLES[role], "password": PASSWORD}
            )
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        res = await client.get("/api/v1/leads")
        if res.status_code != 200:
            raise RuntimeError(f"first search failed: {res.status_code} {res.text[:300]}")
        first = res.json()
        cursor, some_id = first["next_cursor"], first["items"][0]["id"]
        samples: dict[str, list[float]] = {}
        errors = 0

        async def timed(name: str, path: str, params: dict[str, Any]) -> None:
            nonlocal errors
            start = time.perf_counter()
            res = await client.get(path, params=params)
            samples.setdefault(name, []).append(time.perf_counter() - start)
            if res.status_code != 200:
                errors += 1

        for _ in range(20):  # warm-up: connection pools, caches, JIT-free but page cache
            await timed("warmup", "/api/v1/leads", {})
        samples.pop("warmup")
        jobs: list[tuple[str, str, dict[str, Any]]] = []
        for _ in range(requests):
            for name, params in query_mix(rng, zips, cursor).items():
                jobs.append((name, "/api/v1/leads", params))
            jobs.append(("lead_detail", f"/api/v1/leads/{some_id}", {}))
            jobs.append(("health_floor", "/health", {}))
        rng.shuffle(jobs)
        queue: asyncio.Queue[tuple[str, str, dict[str, Any]]] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)

        async def worker() -> None:
            while not queue.empty():
                await timed(*queue.get_nowait())

        async def due(at: float, name: str, path: str, params: dict[str, Any]) -> None:
            nonlocal errors
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            res = await client.get(path, params=params)
            samples.setdefault(name, []).append(time.perf_counter() - at)
            if res.status_code != 200:
                errors += 1

        start = time.perf_counter()
        if rate is None:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            at, arrivals = start, random.Random(4)
            sent = []
            for job in jobs:
                at += arrivals.expovariate(rate)
                sent.append(due(at, *job))
            await asyncio.gather(*sent)
        elapsed = time.perf_counter() - start
    searches = [s for name, v in samples.items() if name != "health_floor" for s in v]
    return {
        "role": role,
        **({"concurrency": concurrency} if rate is None else {"offered_rate_hz": rate}),
        "requests": len(jobs),
        "errors": errors,
        "req_per_s": round(len(jobs) / elapsed, 1),
        "all_searches": percentiles(searches),
        "by_query": {name: percentiles(v) for name, v in sorted(samples.items())},
    }


async def measure_sql_floor(settings: Settings, repeats: int = 100) -> dict[str, float]:
    """The default search's SQL straight on the database: what the HTTP path adds is the rest.

    The statement is the one the code under test sends for a basic agent's first page (its own
    `leads.repository.search`), so each side is measured on its own query: since the disclosure
    rule an agent's page reads the preview columns of the leads on the market (available and
    held); before it, every column of the available leads.
    """
    from aiqleads.leads import repository

    engine = create_engine(settings)
    sessions = session_factory(engine)
    cutoff = NOW - timedelta(minutes=30)  # the basic tier's priority window
    if has_rule():
        from aiqleads.leads.filters import LeadFilter
        from aiqleads.leads.present import PREVIEW_COLUMNS
        from aiqleads.leads.query import CatalogQuery, SortKey, order_for
        from aiqleads.leads.status import ON_MARKET
        from aiqleads.leads.visibility import Viewer

        viewer = Viewer(0, False, Tier.BASIC, cutoff, 0, NOW)

        async def default_search(session: Any) -> Any:
            return await repository.search(
                session,
                viewer,
                CatalogQuery(LeadFilter()),
                order=order_for(SortKey.NEWEST, exact=False),
                statuses=ON_MARKET,
                after=None,
                columns=PREVIEW_COLUMNS,
            )
    else:
        # The code before the rule: its own signatures, unknown to the type checker here.
        from aiqleads.leads import query
        from aiqleads.models.enums import LeadStatus

        search_before: Any = repository.search
        query_before: Any = query.CatalogQuery

        async def default_search(session: Any) -> Any:
            return await search_before(
                session,
                query_before(),
                statuses=[LeadStatus.AVAILABLE],
                visible_before=cutoff,
                buyer_id=None,
                cursor=None,
            )

    samples = []
    async with sessions() as session:
        await session.execute(text("SELECT 1"))
        for _ in range(repeats):
            start = time.perf_counter()
            await default_search(session)
            samples.append(time.perf_counter() - start)
    await engine.dispose()
    return percentiles(samples)


def serve(env: dict[str, str], port: int, workdir: Path) -> subprocess.Popen[bytes]:
    log = (workdir / "serve.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "aiqleads", "serve", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def run_case(backend: str, n: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    sqlite_path = None
    db_name = f"aiq_bench_catalog_{n}_{os.getpid()}"
    if backend == "sqlite":
        sqlite_path = workdir / f"bench_{n}.db"
        url = f"sqlite+aiosqlite:///{sqlite_path}"
    else:
        url = await recreate_database(args.postgres_url, db_name)
    try:
        return await _measure_case(backend, n, args, workdir, url, sqlite_path)
    finally:
        if sqlite_path is not None:
            _remove_sqlite(sqlite_path)
        else:
            await drop_database(args.postgres_url, db_name)


def _remove_sqlite(path: Path) -> None:
    """The database file and its WAL and shared-memory files."""
    for found in path.parent.glob(f"{path.name}*"):
        found.unlink()


async def _measure_case(
    backend: str,
    n: int,
    args: argparse.Namespace,
    workdir: Path,
    url: str,
    sqlite_path: Path | None,
) -> dict[str, Any]:
    settings = Settings(database_url=url, secret_key=SECRET, encryption_keys=KEYS)
    load_s = await prepare(settings, n, sqlite_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update(
        {
            "AIQ_DATABASE_URL": url,
            "AIQ_SECRET_KEY": SECRET,
            "AIQ_ENCRYPTION_KEYS": KEYS,
            "AIQ_LOG_LEVEL": "WARNING",
            # Requests as fast as the server answers are what is measured: the per-tier rate
            # limit (100/min for a basic agent) would answer them 429 (bench/http_throughput.py
            # measures what the limits cost).
            "AIQ_RATE_LIMIT__ENABLED": "false",
            # No periodic tasks in the measured server: in production they run in `aiqleads
            # worker`, and here the hourly feature precompute and score refresh over every lead
            # would land inside one side's run and not the other's.
            "AIQ_WORKER__SCHEDULE": "false",
        }
    )
    port = free_port()
    proc = serve(env, port, workdir)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base, proc)
        runs = []
        for role in args.roles:
            for c in args.concurrency:
                cpu_before = cpu_seconds(proc.pid)
                run = await measure_http(base, role, args.requests, c)
                # The server's own CPU time per request: under contention from other processes
                # it moves less than latency (on SQLite it includes the database's work).
                used = cpu_seconds(proc.pid) - cpu_before
                run["server_cpu_ms_per_request"] = round(used * 1000 / run["requests"], 3)
                runs.append(run)
            if args.rate:
                cpu_before = cpu_seconds(proc.pid)
                run = await measure_http(base, role, args.rate_rounds, 1, rate=args.rate)
                used = cpu_seconds(proc.pid) - cpu_before
                run["server_cpu_ms_per_request"] = round(used * 1000 / run["requests"], 3)
                runs.append(run)
        server_rss = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {
        "backend": backend,
        "leads": n,
        "load_seconds": round(load_s, 1),
        "sql_floor_default_search": await measure_sql_floor(settings),
        "http": runs,
        "server_rss_mb": server_rss,
    }


def code_under_test() -> dict[str, Any]:
    """Which code was measured: the package's folder and commit, and whether it has the
    disclosure rule."""
    import aiqleads

    folder = Path(aiqleads.__file__).resolve().parent
    commit = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {"package": str(folder), "commit": commit or None, "disclosure_rule": has_rule()}


def has_rule() -> bool:
    return derived_location is not None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--postgres-url", default=os.environ.get("AIQ_TEST_POSTGRES_URL"))
    parser.add_argument("--requests", type=int, default=100, help="rounds of the query mix")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--roles", nargs="+", choices=sorted(ROLES), default=["agent", "admin"])
    parser.add_argument(
        "--rate",
        type=float,
        default=8.0,
        help="also an open-loop run per role at this many requests/s (0: none); the default is"
        " within what the code before the disclosure rule serves on SQLite as an admin",
    )
    parser.add_argument("--rate-rounds", type=int, default=30, help="rounds of the open-loop mix")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="aiq-bench-") as tmp:
        for backend in args.backends:
            if backend == "postgres" and not args.postgres_url:
                notes.append("postgres skipped: no --postgres-url or AIQ_TEST_POSTGRES_URL")
                continue
            for n in args.sizes:
                results.append(await run_case(backend, n, args, Path(tmp)))
                print(json.dumps(results[-1]), file=sys.stderr)
    bar = [
        run["all_searches"]["p95_ms"]
        for r in results
        if r["backend"] == "postgres" and r["leads"] >= 1_000_000
        for run in r["http"]
        if run["role"] == "agent" and run["concurrency"] == 1
    ]
    print(
        json.dumps(
            {
                "benchmark": "catalog",
                "code": code_under_test(),
                "cpu_count": os.cpu_count(),
                "results": results,
                "bar": {
                    "p95_ms_at_1M_postgres_lt": 50,
                    "measured": bar,
                    "met": bool(bar) and max(bar) < 50,
                },
                "notes": notes,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
