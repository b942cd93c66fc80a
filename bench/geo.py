"""Benchmark of the geo analytics service on stored leads; prints one JSON document.

For each database (SQLite file, PostgreSQL/PostGIS) and size, a child process creates a fresh
database, bulk-loads synthetic leads in one metro (King County sale locations resampled with
300 m jitter, fixed seed: see geo_algorithms.synthetic_points) with every column the write path
(`aiqleads.leads.writes`) would derive, then times through the service layer (the code behind
the HTTP routes: SQL, algorithm, GeoJSON encoding, cache), for an admin (exact points) and for
an enterprise agent (the hot path: preview cells, withheld small aggregates):

* heatmap (H3 res 8, GROUP BY the stored column) cold, then warm (median of 50 cache hits);
  clusters warm too (median of 20 cache hits);
* clusters cold (DBSCAN eps 250 m, min_samples 10, with hulls and summaries);
* penetration (ZIP polygons and H3 res 8) and competitors (radius 1 km around the agent's 200
  purchases, and around one point);
* on PostgreSQL, PostGIS ST_ClusterDBSCAN on the same points (UTM metres), and at <= 100k
  scikit-learn's haversine DBSCAN, with the adjusted Rand index against ours (exact points);
* beside each cold and warm median, the median CPU time of the measuring process (the service,
  and SQLite, which runs in it; for a warm answer, reading the cache: in-process on SQLite,
  the Redis client on PostgreSQL), which moves less than wall time when other processes share
  the cores;
* peak RSS of the measuring child (the data is generated and loaded in another process), and
  the tracemalloc peak of the clustering call.

    .venv/bin/python bench/geo.py --sizes 100000 1000000 --postgres-url postgresql+asyncpg://…

The script also runs against the code before the disclosure rule (migration 0006), so that its
cost is measured with the same data and the same calls (`bench/compare.py` gives the ratios):
rows then leave out the columns that code lacks, and callers are principals, not viewers.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import multiprocessing as mp
import os
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
if TYPE_CHECKING:  # mypy names bench's files from the project root (see pyproject.toml)
    from bench.geo_algorithms import synthetic_points
else:
    from geo_algorithms import synthetic_points

METRO = "seattle"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
COLUMNS = (
    "public_id", "source", "source_ref", "kind", "status", "currency", "geocode_precision",
    "latitude", "longitude", "metro", "h3_r7", "h3_r8", "h3_r9", "asking_price_cents", "score",
    "listing_office", "listed_at", "published_at", "first_seen_at", "updated_at", "price_cents",
    "price_currency",
)  # fmt: skip
# What the write path derives since the disclosure rule (leads.writes), after COLUMNS.
RULE_COLUMNS = ("preview_latitude", "preview_longitude", "score_bucket")
OFFICES = ("Windermere", "Redfin", "Compass", "John L. Scott", "Keller Williams", "eXp")
_SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a naive UTC datetime in SQLite
_TIMES = slice(16, 20)  # the datetime columns of a row
N_MINE, SOLD_SHARE, LISTED_SHARE = 200, 0.02, 0.2
ROLES = ("admin", "agent")


def has_rule() -> bool:
    """Whether the code under test has the disclosure rule (migration 0006)."""
    import importlib.util

    return importlib.util.find_spec("aiqleads.leads.visibility") is not None


def has_zcta() -> bool:
    """Whether the code under test stores the ZCTA of each lead's exact point (migration 0040):
    then the load must write it, as the write path would, or admins' ZIP answers miss leads."""
    import importlib.util

    return importlib.util.find_spec("aiqleads.geo.stored_zcta") is not None


def _columns() -> tuple[str, ...]:
    if not has_rule():
        return COLUMNS
    return (*COLUMNS, *RULE_COLUMNS, *(("zcta",) if has_zcta() else ()))


def _leads(n: int) -> tuple[list[tuple[Any, ...]], np.ndarray, np.ndarray]:
    lat, lon = synthetic_points(n)
    rng = np.random.default_rng(7)
    price = np.round(rng.lognormal(13.1, 0.5, n)) * 100
    score = rng.uniform(0, 1, n)
    office = rng.integers(0, len(OFFICES), n)
    listed = rng.uniform(0, 1, n) < LISTED_SHARE
    t = NOW - timedelta(days=1)
    if has_rule():
        from aiqleads.leads.scores import score_bucket
        from aiqleads.leads.writes import derived_location

        zctas: list[tuple[str | None, ...]] = [()] * n
        if has_zcta():
            from aiqleads.geo.boundaries import zcta_of_points

            zctas = [(z,) for z in zcta_of_points(lat, lon)]  # one call: as the write path
        rows: list[tuple[Any, ...]] = [
            (
                uuid.uuid4(), "bench", f"b{i}", "for_sale", "available", "USD", "exact",
                float(lat[i]), float(lon[i]), d["metro"], d["h3_r7"], d["h3_r8"], d["h3_r9"],
                int(price[i]), float(score[i]), OFFICES[office[i]] if listed[i] else None,
                t, t, t, t, 2000, "USD",
                d["preview_latitude"], d["preview_longitude"], score_bucket(float(score[i])),
                *zctas[i],
            )
            for i in range(n)
            for d in (derived_location(float(lat[i]), float(lon[i])),)
        ]  # fmt: skip
        return rows, lat, lon
    from aiqleads.geo.heatmap import cells_for_points

    r7, r8, r9 = (cells_for_points(lat, lon, res) for res in (7, 8, 9))
    rows = [
        (
            uuid.uuid4(), "bench", f"b{i}", "for_sale", "available", "USD", "exact",
            float(lat[i]), float(lon[i]), METRO, int(r7[i]), int(r8[i]), int(r9[i]),
            int(price[i]), float(score[i]), OFFICES[office[i]] if listed[i] else None,
            t, t, t, t, 2000, "USD",
        )
        for i in range(n)
    ]  # fmt: skip
    return rows, lat, lon


async def _load(engine: Any, url: str, rows: list[tuple[Any, ...]]) -> float:
    """Bulk load: COPY on PostgreSQL, executemany on SQLite. Returns seconds."""
    import asyncpg
    from sqlalchemy.engine import make_url

    t0 = time.perf_counter()
    if engine.dialect.name == "postgresql":
        u = make_url(url)
        conn = await asyncpg.connect(
            host=u.host, port=u.port, user=u.username, password=u.password, database=u.database
        )
        try:
            await conn.copy_records_to_table("leads", records=rows, columns=list(_columns()))
            await conn.execute("ANALYZE leads")
        finally:
            await conn.close()
    else:
        path = url.split("///", 1)[1]
        columns = _columns()
        with sqlite3.connect(path) as conn:
            marks = ",".join("?" * len(columns))
            conn.executemany(
                f"INSERT INTO leads ({','.join(columns)}) VALUES ({marks})",  # noqa: S608
                [
                    (r[0].hex, *r[1:16], *(x.strftime(_SQLITE_TS) for x in r[_TIMES]), *r[20:])
                    for r in rows
                ],
            )  # fmt: skip
            conn.execute("ANALYZE")
    return time.perf_counter() - t0


async def _setup_market(sessions: Any, n: int) -> tuple[Any, Any]:
    """An enterprise agent who bought N_MINE leads, another buyer with the rest of the sales,
    and the metro's data version."""
    from sqlalchemy import insert, select, update

    from aiqleads.auth import service as auth_service
    from aiqleads.auth.principal import Principal
    from aiqleads.db.engine import transaction
    from aiqleads.leads import versions
    from aiqleads.models import Lead, Purchase
    from aiqleads.models.enums import Role, Tier

    rng = np.random.default_rng(3)
    sold = np.sort(rng.choice(np.arange(1, n + 1), max(N_MINE + 1, int(n * SOLD_SHARE)), False))
    async with transaction(sessions) as s:
        accounts = [
            await auth_service.create_account(
                s, email=f"{who}@bench.example", password="bench password 1", role=role,
                tier=Tier.ENTERPRISE, now=NOW,
            )
            for who, role in (("me", Role.AGENT), ("other", Role.AGENT), ("admin", Role.ADMIN))
        ]  # fmt: skip
        await s.flush()
        ids = (await s.scalars(select(Lead.id).order_by(Lead.id))).all()
        lead_ids = [ids[i - 1] for i in sold.tolist()]
        await s.execute(update(Lead).where(Lead.id.in_(lead_ids)).values(status="sold"))
        await s.execute(
            insert(Purchase),
            [
                {"lead_id": lid, "account_id": accounts[0 if k < N_MINE else 1].id,
                 "price_cents": 2000, "currency": "USD", "purchased_at": NOW}
                for k, lid in enumerate(lead_ids)
            ],
        )  # fmt: skip
        await versions.bump(s, [METRO], now=NOW)
    me, _, admin = (Principal.of(a) for a in accounts)
    return me, admin


def _ari(a: np.ndarray, b: np.ndarray) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


async def _prepare(db: str, n: int, postgres_url: str | None, name: str) -> dict[str, Any]:
    """Create and fill the database (in its own process: the generated rows' memory must not
    count towards the service's peak)."""
    from aiqleads.config import Settings
    from aiqleads.db import migrate
    from aiqleads.db.databases import recreate_database
    from aiqleads.db.engine import create_engine, session_factory

    if db == "postgres":
        assert postgres_url is not None
        url = await recreate_database(postgres_url, name)
    else:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='aiq-bench-')}/bench.db"
    engine = create_engine(Settings(database_url=url))
    await migrate.upgrade(engine)
    t0 = time.perf_counter()
    rows, _, _ = _leads(n)
    out: dict[str, Any] = {"url": url, "generate_s": round(time.perf_counter() - t0, 3)}
    out["load_s"] = round(await _load(engine, url, rows), 3)
    out["load_rows_per_s"] = round(n / out["load_s"])
    del rows
    await _setup_market(session_factory(engine), n)
    out["tally_rows"] = await _compact_tallies(engine)
    await engine.dispose()
    return out


async def _compact_tallies(engine: Any) -> dict[str, int] | None:
    """Fold the map tallies the load appended (migration 0035's triggers add rows per COPY
    statement and per purchase) as the worker's periodic `geo.compact_tallies` does within
    `AIQ_WORKER__GEO_TALLY_COMPACT_SECONDS` (60 s) of any write, so the figures are those of a
    running deployment, not of its first minute after a bulk load. Code without tallies (the
    baseline) has nothing to fold: None. Returns the row counts before and after."""
    try:
        from aiqleads.geo.repository import tallies
    except ImportError:
        return None
    from sqlalchemy import func, select

    from aiqleads.db.engine import session_factory

    async with session_factory(engine)() as session:
        before = int(await session.scalar(select(func.count()).select_from(tallies.tallies)) or 0)
        after = 0
        for metro in await tallies.tallied_metros(session):
            after += await tallies.compact(session, metro)
        await session.commit()
    return {"before": before, "after": after}


async def _reuse(db: str, n: int, postgres_url: str, name: str) -> dict[str, Any]:
    """The kept database `name` if an earlier run loaded it completely (its bench accounts
    exist), brought to the code under test's migrations; else a fresh load (`_prepare`)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from aiqleads.config import Settings
    from aiqleads.db import migrate
    from aiqleads.db.engine import create_engine

    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT count(*) FROM accounts WHERE email = 'admin@bench.example'")
            )
    except Exception:  # no such database, or not loaded: load it
        found = 0
    if not found:
        await engine.dispose()
        return {**await _prepare(db, n, postgres_url, name), "reused": False}
    t0 = time.perf_counter()
    await migrate.upgrade(engine)  # e.g. migration 0035's tallies, built from the loaded leads
    upgrade_s = round(time.perf_counter() - t0, 3)
    tally_rows = await _compact_tallies(engine)
    await engine.dispose()
    return {"url": url, "reused": True, "upgrade_s": upgrade_s, "tally_rows": tally_rows}


async def _principals(sessions: Any) -> tuple[Any, Any]:
    from sqlalchemy import select

    from aiqleads.auth.principal import Principal
    from aiqleads.models import Account

    async with sessions() as s:
        found = {a.email: a for a in (await s.scalars(select(Account))).all()}
    return Principal.of(found["me@bench.example"]), Principal.of(found["admin@bench.example"])


def _api() -> Any:
    """The service's calling conventions in the code under test: (filter module, who a call is
    for, the exact-point cluster labels)."""
    from aiqleads.geo.service.clusters_answer import cluster_labels

    if has_rule():
        from aiqleads.leads import filters
        from aiqleads.leads.status import ON_MARKET
        from aiqleads.leads.visibility import viewer_for

        def who(principal: Any, settings: Any) -> Any:
            return viewer_for(principal, settings.tiers[principal.tier], NOW)

        async def labels(s: Any, filt: Any, viewer: Any, **kw: Any) -> Any:
            return await cluster_labels(s, viewer, filt, ON_MARKET, **kw)

        return filters, who, labels
    # The code before the rule has a module the current code lacks: loaded by name.
    old_filters = importlib.import_module("aiqleads.geo.filters")

    def who_before(principal: Any, settings: Any) -> Any:
        return principal

    async def labels_before(s: Any, filt: Any, principal: Any, **kw: Any) -> Any:
        return await cluster_labels(s, filt, old_filters.Visibility(None, None, "admin"), **kw)

    return old_filters, who_before, labels_before


async def _run(db: str, n: int, url: str, redis_url: str | None) -> dict[str, Any]:
    from redis.asyncio import Redis
    from sqlalchemy import text

    from aiqleads.config import Settings
    from aiqleads.db.engine import create_engine, session_factory
    from aiqleads.geo import service
    from aiqleads.geo.repository.clusters import utm_srid
    from aiqleads.kit.cache import build_cache
    from aiqleads.metros import get_metro

    filters, who, labels = _api()
    redis_url = redis_url if db == "postgres" else None  # SQLite runs use the in-process cache
    settings = Settings(
        database_url=url, redis_url=redis_url, cache_namespace=f"bench-{uuid.uuid4().hex}"
    )
    engine = create_engine(settings)
    sessions = session_factory(engine)
    out: dict[str, Any] = {"database": db, "n": n}
    me, admin = await _principals(sessions)
    callers = {"admin": who(admin, settings), "agent": who(me, settings)}
    out["rss_before_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    redis = Redis.from_url(redis_url) if redis_url else None
    ctx = service.GeoContext(settings=settings, cache=build_cache(redis), now=NOW)
    out["cache"] = ctx.cache.name
    filt = filters.LeadFilter(area=filters.Area(metro=get_metro(METRO)))
    async with sessions() as s:
        on_market = int(
            await s.scalar(
                text("SELECT count(*) FROM leads WHERE metro = :m AND status = 'available'"),
                {"m": METRO},
            )
            or 0
        )

    async def timed(fn: Any, caller: Any, **kw: Any) -> tuple[float, bytes]:
        async with sessions() as s:
            t = time.perf_counter()
            body = await fn(s, caller, **kw)
            return (time.perf_counter() - t) * 1000, body

    def fresh() -> Any:
        # A new namespace: the next answer is a cache miss, as after a write to the metro.
        ns = f"bench-{uuid.uuid4().hex}"
        return service.GeoContext(
            settings.model_copy(update={"cache_namespace": ns}), ctx.cache, NOW
        )

    last_cpu: list[float] = [0.0]

    async def cold(fn: Any, caller: Any, runs: int, **kw: Any) -> tuple[float, bytes]:
        """Median wall time of `runs` cache misses; the median CPU time of this process (the
        service, and SQLite, which runs in it) goes to `last_cpu`: under contention from other
        processes it moves less than the wall time."""
        times, cpus, body = [], [], b""
        for _ in range(runs):
            c0 = time.process_time()
            ms, body = await timed(fn, caller, **{**kw, "ctx": fresh()})
            cpus.append((time.process_time() - c0) * 1000)
            times.append(ms)
        last_cpu[0] = statistics.median(cpus)
        return statistics.median(times), body

    async def warm(fn: Any, caller: Any, runs: int, **kw: Any) -> tuple[list[float], float]:
        """Wall times (ms) of `runs` cache hits, and the median CPU time (ms) of this process
        per hit."""
        times, cpus = [], []
        for _ in range(runs):
            c0 = time.process_time()
            times.append((await timed(fn, caller, **kw))[0])
            cpus.append((time.process_time() - c0) * 1000)
        return times, statistics.median(cpus)

    def record(r: dict[str, Any], name: str, ms: float) -> None:
        r[f"{name}_cold_ms_median"] = round(ms, 1)
        r[f"{name}_cold_cpu_ms_median"] = round(last_cpu[0], 1)

    hm = {"filt": filt, "resolution": 8, "zoom": None, "weight": "count", "grid": "h3"}
    hm.update(cell_size_m=500.0, ctx=ctx)
    # The very first request of the process also pays for connecting and compiling SQL.
    out["first_request_heatmap_ms"] = round(
        (await timed(service.heatmap, callers["admin"], **hm))[0], 1
    )
    for role in ROLES:
        caller = callers[role]
        r: dict[str, Any] = {}
        out[role] = r
        cold_ms, body = await cold(service.heatmap, caller, 7, **hm)
        warm_hm, warm_hm_cpu = await warm(service.heatmap, caller, 50, **hm)
        doc = json.loads(body)
        assert doc["total_leads"] == on_market, (role, doc["total_leads"], on_market)
        record(r, "heatmap", cold_ms)
        r["heatmap_warm_ms_median"] = round(statistics.median(warm_hm), 3)
        r["heatmap_warm_ms_p95"] = round(sorted(warm_hm)[int(0.95 * len(warm_hm)) - 1], 3)
        r["heatmap_warm_cpu_ms_median"] = round(warm_hm_cpu, 3)
        r["heatmap_cells"] = len(doc["features"])
        res6, _ = await cold(service.heatmap, caller, 3, **{**hm, "resolution": 6})
        record(r, "heatmap_res6", res6)
        wsum, _ = await cold(service.heatmap, caller, 3, **{**hm, "weight": "asking_price_sum"})
        record(r, "heatmap_price_sum", wsum)

        cl = {"filt": filt, "eps_m": 250.0, "min_samples": 10, "algorithm": "grid"}
        tracemalloc.start()
        await timed(service.clusters, caller, **cl, ctx=fresh())
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        ms, body = await cold(service.clusters, caller, 3, **cl)
        doc = json.loads(body)
        record(r, "clusters", ms)
        r["clusters_tracemalloc_peak_mb"] = round(peak / 2**20, 1)
        r["clusters_n"] = doc["n_clusters"]
        r["clusters_noise"] = doc["noise_count"]
        # Peak so far: data access, heatmaps and clustering, before the peers' comparisons.
        r["rss_after_clusters_mb"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        )
        warm_c, warm_c_cpu = await warm(service.clusters, caller, 50, **cl, ctx=ctx)
        r["clusters_warm_ms_median"] = round(statistics.median(warm_c), 3)
        r["clusters_warm_cpu_ms_median"] = round(warm_c_cpu, 3)

        for level in ("zip", "h3"):
            ms, body = await cold(
                service.penetration, caller, 3, filt=filt, level=level, resolution=8,
                metric="market",
            )  # fmt: skip
            record(r, f"penetration_{level}", ms)
            r[f"penetration_{level}_regions"] = len(json.loads(body)["features"])
        if role == "agent":  # the admin bought nothing: no query points of its own
            comp = {"filt": filt, "radius_m": 1000.0, "point": None, "top_n": 5}
            ms, body = await cold(service.competitors, caller, 3, **comp)
            record(r, "competitors", ms)
            r["competitors_path"] = "python (more than 20 query points)"
            doc = json.loads(body)
            r["competitors_query_points"] = sum(
                1 for f in doc["features"] if f["properties"]["layer"] == "lead"
            )
            if db == "postgres":
                ms, _ = await cold(service.competitors, caller, 3, **comp, use_postgis=True)
                record(r, "competitors_postgis_path", ms)

        point = get_metro(METRO).centre
        for path in ("postgis", "python") if db == "postgres" else ("python",):
            ms, _ = await cold(
                service.competitors, caller, 3, filt=filt, radius_m=1000.0, point=point,
                top_n=5, use_postgis=path == "postgis",
            )  # fmt: skip
            record(r, f"competitors_one_point_{path}", ms)

    # Peers on the exact points (the admin's clusters): PostGIS and scikit-learn. Only our
    # labels (and, for scikit-learn, the coordinates) are kept while a peer runs: the points
    # are the service's, and a second copy held here would count towards the peak RSS.
    async with sessions() as s:
        pts, ours = await labels(
            s, filt, callers["admin"], eps_m=250.0, min_samples=10, algorithm="grid"
        )
    latlon = np.column_stack((pts.lat, pts.lon)) if n <= 100_000 else None
    del pts
    if db == "postgres":
        srid = utm_srid(*get_metro(METRO).centre)
        sql = text(
            "SELECT count(DISTINCT c) FROM (SELECT ST_ClusterDBSCAN("
            "ST_Transform(geom, CAST(:srid AS integer)), 250, 10) OVER () AS c FROM leads"
            " WHERE metro = :m AND status IN ('available', 'held')) t"
        )
        async with sessions() as s:
            times = []
            for _ in range(3):
                t = time.perf_counter()
                await s.execute(sql, {"srid": srid, "m": METRO})
                times.append((time.perf_counter() - t) * 1000)
            out["postgis_cluster_dbscan_ms_median"] = round(statistics.median(times), 1)
            _, theirs = await labels(
                s, filt, callers["admin"], eps_m=250.0, min_samples=10, algorithm="postgis"
            )
        out["postgis_ari_vs_ours"] = round(_ari(ours, theirs), 5)
    if n <= 100_000:
        from sklearn.cluster import DBSCAN

        from aiqleads.geo.projection import EARTH_RADIUS_M

        t = time.perf_counter()
        assert latlon is not None
        sk = DBSCAN(eps=250.0 / EARTH_RADIUS_M, min_samples=10, metric="haversine").fit(
            np.radians(latlon)
        )
        out["sklearn_dbscan_ms"] = round((time.perf_counter() - t) * 1000, 1)
        out["sklearn_ari_vs_ours"] = round(_ari(ours, sk.labels_), 5)
    del latlon, ours

    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if redis is not None:
        await redis.aclose()
    await engine.dispose()
    return out


def _child(step: str, args: tuple[Any, ...], queue: Any) -> None:
    steps = {"prepare": _prepare, "reuse": _reuse, "run": _run}
    try:
        queue.put(asyncio.run(steps[step](*args)))
    except Exception as exc:  # a failed case is reported, not fatal to the others
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def _in_child(ctx: Any, step: str, *args: Any) -> dict[str, Any]:
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(step, args, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--postgres-url", default=os.environ.get("AIQ_TEST_POSTGRES_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("AIQ_TEST_REDIS_URL"))
    parser.add_argument(
        "--sqlite-max", type=int, default=100_000, help="skip SQLite above this size"
    )
    parser.add_argument(
        "--keep-database",
        metavar="NAME",
        help="PostgreSQL only: load into database NAME_<size> and keep it; a later run with the"
        " same NAME reuses it without loading again (old and new code measured on one load)",
    )
    parser.add_argument(
        "--prepare-only", action="store_true", help="load (or reuse) the databases, measure nothing"
    )
    args = parser.parse_args()
    results = []
    ctx = mp.get_context("spawn")  # a clean process per case: peak memory does not mix
    for n in args.sizes:
        for db in args.databases:
            if db == "postgres" and not args.postgres_url:
                continue
            if db == "sqlite" and n > args.sqlite_max:
                continue
            keep = db == "postgres" and args.keep_database is not None
            name = f"{args.keep_database}_{n}" if keep else f"aiq_bench_geo_{n}_{os.getpid()}"
            step = "reuse" if keep else "prepare"
            loaded = _in_child(ctx, step, db, n, args.postgres_url, name)
            result = {"database": db, "n": n, **loaded}
            if "error" not in loaded and not args.prepare_only:
                result = {**_in_child(ctx, "run", db, n, loaded["url"], args.redis_url), **loaded}
            result.pop("url", None)
            if keep:
                pass
            elif db == "postgres":
                from aiqleads.db.databases import drop_database

                asyncio.run(drop_database(args.postgres_url, name))
            elif "url" in loaded:
                shutil.rmtree(Path(loaded["url"].split("///", 1)[1]).parent, ignore_errors=True)
            results.append(result)
            print(json.dumps(result), file=sys.stderr)
    doc = {"benchmark": "geo_service", "code": _code_under_test(), "metro": METRO}
    print(json.dumps({**doc, "results": results}, indent=2))


def _code_under_test() -> dict[str, Any]:
    """Which code was measured: the package's folder and commit, and whether it has the
    disclosure rule."""
    import subprocess

    import aiqleads

    folder = Path(aiqleads.__file__).resolve().parent
    commit = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {"package": str(folder), "commit": commit or None, "disclosure_rule": has_rule()}


if __name__ == "__main__":
    main()
