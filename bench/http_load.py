"""Requests/s and p50/p95/p99 per route and for mixed traffic through `aiqleads serve`, with
`/health` as the floor, in one run (issue 14, Benchmark).

    .venv/bin/python bench/http.py [--leads 1000000] [--workers 2] [--seconds 15]
        [--concurrency 32] [--postgres-url postgresql+asyncpg://...] [--redis-url redis://...]
        [--database NAME] [--keep] [--baseline-src /path/to/other/src] [--rounds 1]

The production topology on one machine: PostgreSQL + PostGIS, Redis (rate limits, caches and
the task broker), `--workers` uvicorn workers and, with Redis, `aiqleads worker` (one Dramatiq
process, its outbox relay and the periodic tasks), rate limits and access logs on. Leads are
generated and bulk-loaded (COPY) as `bench/catalog.py` does; with `--database NAME --keep` the
loaded database is kept and reused by the next run (it is loaded again only if it holds fewer
than `--leads` leads). 200 enterprise agents share the load round-robin, each under its tier's
1,000 requests a minute, with access tokens minted here for their accounts.

Phases, each driven for `--seconds` after a warm-up by wrk (`bench/wrk_load.py`; Debian's `wrk`
package) with `--concurrency` connections, each sending its next request when the last is
answered (closed loop): `/health` (the floor), `/api/v1/auth/me` (an authenticated no-op),
catalog search (`GET /api/v1/leads?...`, a mix of filters, 50 rows), lead preview (`GET
/api/v1/leads/{id}`), heatmap (cached after its first answer), cart, and the mixed traffic of
the issue (search 50 %, preview 20 %, heatmap 10 %, cart 20 %); each heatmap of the plan is
asked for once before the phases, and the seconds it took reported (`heatmap_cold_seconds`). For
each: requests/s answered 2xx/3xx within wrk's 30 s timeout, latency percentiles (wrk's),
answers other than 2xx/3xx, late answers and failed socket operations, the cache hit ratio, the
answers per second by route and status as the server counted them (`aiq_http_requests_total`:
wrk cannot tell which request an answer belongs to, so this splits the mixed phase by route);
the server's CPU time per request (all its processes; it moves less than latency when others
share the cores) and each API worker's share of it (a worker left without connections shows near
0), the cores the background worker kept busy, the load generator's own CPU time per request,
and each API worker's resident memory at the end, with the background worker's and the task
outbox's rows left by status (a backlog means the worker fell behind). Before the phases, the
run puts back the task rows a stopped worker of an earlier run left claimed (`claims_released`)
and waits for the worker to empty the task outbox (the periodic tasks a fresh database has never
run), so the phases see the worker between two hourly runs; one that crosses the top of an hour
shows in its `worker_cpu_cores_busy`.

With `--baseline-src`, the same phases run against a second server importing the package from
that folder (for example the main branch's `src`), alternating which goes first per round, so
that old and new code are measured back to back on the same data.

Prints one JSON document. The bars (issue 14): search and preview >= 1,000 requests/s each,
mixed >= 1,000 requests/s with p95 < 50 ms and no errors, < 300 MB per API worker.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from aiqleads.auth import service
from aiqleads.auth.tokens import TokenType, make_token
from aiqleads.config import Settings
from aiqleads.db import migrate
from aiqleads.db.databases import drop_database, recreate_database
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.models import Account, Lead
from aiqleads.models.enums import Role, Tier

if TYPE_CHECKING:
    from bench import catalog, wrk_load
    from bench.catalog import NOW, PASSWORD, SECRET, king_county_zips, load_postgres
    from bench.serving import (
        cpu_seconds,
        free_port,
        process_tree,
        rss_mb,
        start_server,
        start_worker,
        stop_server,
        tree_cpu_seconds,
        wait_ready,
    )
else:
    import catalog
    import wrk_load
    from catalog import NOW, PASSWORD, SECRET, king_county_zips, load_postgres
    from serving import (
        cpu_seconds,
        free_port,
        process_tree,
        rss_mb,
        start_server,
        start_worker,
        stop_server,
        tree_cpu_seconds,
        wait_ready,
    )

AGENTS = 200
# A fixed key (Fernet: 32 bytes, URL-safe base64), so that a kept database's contacts stay
# readable by the next run's server; the generator encrypts with it too.
KEYS = "bench:" + base64.urlsafe_b64encode(b"aiqleads-bench-http-fixed-key-32").decode()
catalog.KEYS = KEYS
PHASES = ("health", "me", "search", "preview", "heatmap", "cart", "mixed")
# The mix, as slots of a cycle of ten requests.
MIX = ("search",) * 5 + ("preview",) * 2 + ("heatmap",) + ("cart",) * 2
# Requests in a phase's plan, sent in a cycle: every search and preview of `request_makers`.
PLAN = 10_000


async def prepare(settings: Settings, n: int) -> tuple[list[str], list[str]]:
    """Migrate, create the agents and load `n` leads unless the database holds them already.
    Returns (access tokens of the agents, public ids of available leads to preview)."""
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        have = await session.scalar(select(func.count()).select_from(Account))
        if not have:
            for i in range(AGENTS):
                await service.create_account(
                    session,
                    email=f"agent{i}@bench.example.com",
                    password=PASSWORD,
                    role=Role.AGENT,
                    tier=Tier.ENTERPRISE,
                    now=NOW,
                )
        accounts = (await session.scalars(select(Account).order_by(Account.id))).all()
        leads = await session.scalar(select(func.count()).select_from(Lead))
    if (leads or 0) < n:
        await _empty_leads(settings.database_url)
        await load_postgres(settings.database_url, n)
    async with transaction(sessions) as session:
        ids = (
            await session.scalars(
                select(Lead.public_id).where(Lead.status == "available").limit(2000)
            )
        ).all()
    await engine.dispose()
    tokens = [
        make_token(
            SECRET,
            subject=str(a.public_id),
            token_type=TokenType.ACCESS,
            now=NOW,
            ttl=timedelta(hours=6),
            version=a.token_version,
        )[0]
        for a in accounts
    ]
    return tokens, [str(i) for i in ids]


async def _empty_leads(url: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE leads CASCADE")
    finally:
        await conn.close()


def request_makers(lead_ids: list[str]) -> dict[str, Callable[[int], str]]:
    """For each route: the path of its i-th request."""
    rng = random.Random(5)
    zips = [z for z, *_ in king_county_zips()]
    searches = []
    for _ in range(200):
        z = rng.choice(zips)
        lat, lon = 47.45 + rng.random() * 0.3, -122.35 + rng.random() * 0.3
        searches += [
            "metro=seattle",
            f"metro=seattle&zip={z}",
            f"metro=seattle&zip={z}&beds_min=3&price_max=900000",
            f"bbox={lon:.4f},{lat:.4f},{lon + 0.05:.4f},{lat + 0.04:.4f}"
            "&price_min=300000&price_max=1200000",
            "metro=seattle&city=Seattle&kind=fsbo",
        ]
    heatmaps = [f"metro=seattle&resolution={r}" for r in (6, 7, 8)]
    return {
        "health": lambda i: "/health",
        "me": lambda i: "/api/v1/auth/me",
        "search": lambda i: f"/api/v1/leads?{searches[i % len(searches)]}&limit=50",
        "preview": lambda i: f"/api/v1/leads/{lead_ids[i % len(lead_ids)]}",
        "heatmap": lambda i: f"/api/v1/geo/heatmap?{heatmaps[i % len(heatmaps)]}",
        "cart": lambda i: "/api/v1/cart",
    }


def plan(
    phase: str, makers: dict[str, Callable[[int], str]], tokens: list[str], n: int = PLAN
) -> list[tuple[str, str]]:
    """The phase's requests as wrk sends them in a cycle: (path, Authorization header), agents
    taken in turn; the mixed phase interleaves the routes by `MIX`."""
    out = []
    for i in range(n):
        kind = MIX[i % len(MIX)] if phase == "mixed" else phase
        path = makers[kind](i // len(MIX) if phase == "mixed" else i)
        out.append((path, f"Bearer {tokens[i % len(tokens)]}"))
    return out


async def drive(
    base: str,
    phase: str,
    script: Path,
    server_pid: int,
    worker_pid: int | None = None,
    *,
    seconds: int,
    concurrency: int,
    warmup: int,
) -> dict[str, Any]:
    """Drive one phase with wrk (`script`: its plan, `wrk_load.write_script`) in a closed
    loop of `concurrency` requests in flight, after a warm-up run whose figures are dropped;
    its figures, with the server's own count of answers by route from /metrics."""
    await wrk_load.run(base, script, seconds=max(1, warmup), concurrency=concurrency)
    before = await scrape(base)
    server_cpu = tree_cpu_seconds(server_pid)
    worker_cpu = tree_cpu_seconds(worker_pid) if worker_pid else 0.0
    api_workers = [p for p in process_tree(server_pid) if p != server_pid and _is_worker(p)]
    each_before = [cpu_seconds(p) for p in api_workers]
    result = await wrk_load.run(base, script, seconds=seconds, concurrency=concurrency)
    server_cpu = tree_cpu_seconds(server_pid) - server_cpu
    worker_cpu = (tree_cpu_seconds(worker_pid) - worker_cpu) if worker_pid else 0.0
    each = [cpu_seconds(p) - b for p, b in zip(api_workers, each_before, strict=True)]
    after = await scrape(base)
    elapsed = result.seconds
    # wrk counts an answer that came after its timeout among the answers and among the
    # timeouts (and may count it as not 2xx/3xx too), and leaves it out of the latency
    # histogram: here it is an error, not an answer. Its connect/read/write errors count
    # failed socket operations, not requests.
    answered = result.requests
    timed_out = result.socket_errors.get("timeout", 0)
    ok = max(0, answered - result.not_ok - timed_out)
    errors = {f"socket_{kind}": n for kind, n in result.socket_errors.items() if n}
    if result.not_ok:
        errors["not_2xx_3xx"] = result.not_ok
    timely = answered - timed_out
    latency: dict[str, float] = {"n": timely}
    if timely:
        latency.update({f"{k}_ms": v for k, v in result.latency_ms.items()})
    out: dict[str, Any] = {
        "rps": round(ok / elapsed, 1),
        "requests": answered,
        "errors": errors,
        "latency": latency,
        "server_cpu_ms_per_request": round(server_cpu * 1e3 / max(answered, 1), 3),
        "server_cpu_cores_busy": round(server_cpu / elapsed, 2),
        # Each API worker's part of their CPU time, largest first. wrk opens its connections
        # at once: where the workers share one listening socket (before 11dda48, or a
        # `--baseline-src` from then), the first to wake accepts them all, and the phase
        # measures one worker (2026-12-03: 4,681 of 4,704 requests on one pid, 1.0 core
        # busy). Compare such a phase with care. A socket per worker (aiqleads/listeners.py)
        # keeps the shares near even.
        "api_worker_cpu_shares": sorted(
            (round(t / max(sum(each), 1e-9), 2) for t in each), reverse=True
        ),
        "worker_cpu_cores_busy": round(worker_cpu / elapsed, 3),
        "loader_cpu_ms_per_request": round(result.cpu_seconds * 1e3 / max(answered, 1), 3),
    }
    if before and after:
        counted = {k: v - before.cache.get(k, 0.0) for k, v in after.cache.items()}
        hits = sum(v for (_, outcome), v in counted.items() if outcome == "hits")
        misses = sum(v for (_, outcome), v in counted.items() if outcome == "misses")
        out["cache_hit_ratio"] = round(hits / max(hits + misses, 1), 3)
        # By cache: the answers' (catalog pages, geo layers) apart from the principals' and
        # tier policies', which are read again every few seconds by design.
        by_cache: dict[str, float] = {}
        for name in sorted({name for name, _ in counted}):
            h, m = counted.get((name, "hits"), 0.0), counted.get((name, "misses"), 0.0)
            if h + m:
                by_cache[name] = round(h / (h + m), 4)
        out["cache_hit_ratio_by_cache"] = by_cache
        # wrk counts answers other than 2xx/3xx and cannot tell which request an answer
        # belongs to: the server's counter gives them by route and status.
        by_route: dict[str, dict[str, float]] = {}
        for (route, status), n in sorted(after.answers.items()):
            moved = n - before.answers.get((route, status), 0.0)
            if moved > 0 and route != "/metrics":
                by_route.setdefault(route, {})[status] = round(moved / elapsed, 1)
        out["server_answers_per_second"] = by_route
        # A request wrk gave up on (its warm-up run's, closed when that run ended) may still
        # be answered, late and with an error, inside this phase: the server's count of 5xx
        # answers is an error figure too (a pool deadlock once showed only there).
        failed = sum(
            n - before.answers.get((route, status), 0.0)
            for (route, status), n in after.answers.items()
            if status.startswith("5")
        )
        if failed > 0:
            errors["server_5xx"] = int(failed)
    return out


@dataclass(frozen=True)
class Scrape:
    """What the server's /metrics said: cache hits and misses by (cache, "hits" or "misses"),
    and answers by (route template, status) summed over methods."""

    cache: dict[tuple[str, str], float]
    answers: dict[tuple[str, str], float]


async def scrape(base: str) -> Scrape | None:
    """The server's /metrics, parsed with prometheus_client's parser (None when the server
    does not expose it to this client)."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        res = await client.get("/metrics")
    if res.status_code != 200:
        return None
    cache: dict[tuple[str, str], float] = {}
    answers: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(res.text):
        for sample in family.samples:
            if sample.name in ("aiq_cache_hits_total", "aiq_cache_misses_total"):
                key = (sample.labels["cache"], sample.name.split("_")[2])
                cache[key] = cache.get(key, 0.0) + sample.value
            elif sample.name == "aiq_http_requests_total":
                key = (sample.labels["route"], sample.labels["status"])
                answers[key] = answers.get(key, 0.0) + sample.value
    return Scrape(cache, answers)


async def run_code(
    label: str,
    src: str | None,
    env: dict[str, str],
    args: argparse.Namespace,
    makers: dict[str, Callable[[int], str]],
    tokens: list[str],
    workdir: Path,
) -> dict[str, Any]:
    """Every phase against one server running the package from `src` (None: this one)."""
    env = {**env, "AIQ_CACHE_NAMESPACE": f"bench{uuid.uuid4().hex[:8]}"}
    # Explicitly: an editable install may point elsewhere than the package this script imports.
    env["PYTHONPATH"] = src or _package_folder()
    port = free_port()
    brokered = "AIQ_REDIS_URL" in env
    released = await _release_claims(env["AIQ_DATABASE_URL"]) if brokered else None
    proc = start_server(env, port, args.workers, workdir / f"serve-{label}.log")
    # With Redis the API hands its tasks to the broker: the deployment's worker runs them.
    background = start_worker(env, workdir / f"worker-{label}.log") if brokered else None
    base = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {"src": src or _package_folder(), "commit": _commit(src)}
    if released is not None:
        out["claims_released"] = released
    try:
        await wait_ready(base, proc)
        if background is not None:
            out["worker_settle_seconds"] = await _settle(env["AIQ_DATABASE_URL"], background)
        if {"heatmap", "mixed"} & set(args.phases):
            out["heatmap_cold_seconds"] = await _prime_heatmaps(base, makers, tokens[0])
        phases: dict[str, Any] = {}
        for phase in args.phases:
            script = workdir / f"{label}-{phase}.lua"
            wrk_load.write_script(script, plan(phase, makers, tokens))
            phases[phase] = await drive(
                base,
                phase,
                script,
                proc.pid,
                background.pid if background else None,
                seconds=args.seconds,
                concurrency=args.concurrency,
                warmup=args.warmup,
            )
        out["phases"] = phases
        workers = [p for p in process_tree(proc.pid) if p != proc.pid and _is_worker(p)]
        out["rss_mb_per_worker"] = [rss_mb(p) for p in workers]
        if background is not None:
            _alive(background)
            out["background_worker_rss_mb"] = round(
                sum(rss_mb(p) or 0.0 for p in process_tree(background.pid)), 1
            )
        out["task_outbox_left"] = await _outbox_rows(env["AIQ_DATABASE_URL"])
    finally:
        try:
            stop_server(proc)
        finally:
            if background is not None:
                # Its Dramatiq processes finish a running task for up to 60 s on SIGTERM.
                stop_server(background, grace_s=75.0)
    return out


async def _prime_heatmaps(
    base: str, makers: dict[str, Callable[[int], str]], token: str
) -> dict[str, float]:
    """Ask for each heatmap of the plan once, one after another, before any phase: a cold
    heatmap at 1M leads takes about a second (0.7-1.3 s on 2026-12-03), and every request of
    a phase that met it would wait for it (single flight), measuring that computation rather
    than the cached answer the phases measure. Returns the seconds each took, by path: the
    cold cost, reported apart. Raises RuntimeError on an answer other than 200."""
    seconds: dict[str, float] = {}
    paths = sorted({makers["heatmap"](i) for i in range(PLAN)})
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        for path in paths:
            started = time.perf_counter()
            answer = await client.get(path, headers={"Authorization": f"Bearer {token}"})
            if answer.status_code != 200:
                raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
            seconds[path] = round(time.perf_counter() - started, 2)
    return seconds


async def _release_claims(url: str) -> int:
    """Put back to pending the rows a background worker of an earlier run (or round) still
    claimed when it was stopped: it is gone, as this script knows and the outbox cannot.
    Dramatiq waits for a running task on SIGTERM, so a precompute running at the end of a
    round is killed after the stop's grace, and its row stays claimed for
    AIQ_WORKER__REQUEUE_AFTER_SECONDS (an hour): `_settle` would wait that long for it. A
    message of it still in Redis is not run twice: the new claim moves the row's fencing
    token on. Returns how many rows it released."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        released = await conn.fetchval(
            "WITH r AS (UPDATE task_outbox SET status = 'pending', claimed_until = NULL"
            " WHERE status IN ('pending', 'queued') AND claimed_until IS NOT NULL RETURNING 1)"
            " SELECT count(*) FROM r"
        )
    finally:
        await conn.close()
    return int(released)


async def _settle(url: str, worker: subprocess.Popen[bytes], *, limit_s: float = 1800.0) -> float:
    """Wait until the task outbox holds no task due to run (dead ones, and retries or
    deliveries waiting out their backoff, stay): the periodic tasks a fresh database has never
    run (the hourly feature precompute, scoring refresh: minutes at 1M leads) are done, so every
    run is measured in the worker's steady state between two hours, however the runs are
    ordered (a row that the stopped worker of an earlier run left claimed was put back first,
    `_release_claims`, and is run again here). Returns the seconds waited. Raises RuntimeError
    when the worker exits, or after `limit_s`."""
    started = time.perf_counter()
    while (await _outbox_rows(url)).get("due", 0):
        _alive(worker)
        if time.perf_counter() - started > limit_s:
            raise RuntimeError(f"the task outbox did not empty within {limit_s:.0f} s")
        await asyncio.sleep(0.5)
    return round(time.perf_counter() - started, 1)


def _alive(worker: subprocess.Popen[bytes]) -> None:
    """Raises RuntimeError when `aiqleads worker` has exited."""
    if worker.poll() is not None:
        raise RuntimeError(f"aiqleads worker exited ({worker.returncode}); see its log")


async def _outbox_rows(url: str) -> dict[str, int]:
    """Rows of the task outbox by status (pending, queued, dead), and `due`: the pending or
    queued rows whose time has come (no `not_before`, or past it: a failed task waits for its
    retry there), what the worker runs now or the relay sends again."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM task_outbox GROUP BY status")
        due = await conn.fetchval(
            "SELECT count(*) FROM task_outbox WHERE status IN ('pending', 'queued')"
            " AND (not_before IS NULL OR not_before <= now())"
        )
    finally:
        await conn.close()
    return {**{r["status"]: int(r["n"]) for r in rows}, "due": int(due)}


# The settings docs/operations/scaling.md sizes for production; a run reports the server's own,
# since the test services' PostgreSQL keeps the defaults (shared_buffers 128MB, where the 1M
# leads table alone is some 870 MB: previews then read most rows from the OS's page cache).
_POSTGRES_SETTINGS = ("shared_buffers", "effective_cache_size", "work_mem", "max_connections")


async def _postgres_settings(url: str) -> dict[str, str]:
    """The server's values of `_POSTGRES_SETTINGS`, as SHOW prints them."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        return {name: str(await conn.fetchval(f"SHOW {name}")) for name in _POSTGRES_SETTINGS}
    finally:
        await conn.close()


def _is_worker(pid: int) -> bool:
    """An API worker, not multiprocessing's resource tracker (uvicorn spawns both)."""
    try:
        return b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _package_folder() -> str:
    import aiqleads

    return str(Path(aiqleads.__file__).resolve().parent.parent)


def _commit(src: str | None) -> str | None:
    folder = src or _package_folder()
    done = subprocess.run(
        ["git", "-C", folder, "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None


def bars(result: dict[str, Any]) -> dict[str, Any]:
    phases = result["phases"]
    if not set(PHASES) <= set(phases):
        return {"all_met": None, "note": "not every phase was run"}
    mixed = phases["mixed"]
    rss = [r for r in result["rss_mb_per_worker"] if r is not None]
    checks = {
        "search_rps_ge_1000": phases["search"]["rps"] >= 1000,
        "preview_rps_ge_1000": phases["preview"]["rps"] >= 1000,
        "mixed_rps_ge_1000": mixed["rps"] >= 1000,
        "mixed_p95_lt_50ms": mixed["latency"].get("p95_ms", 1e9) < 50,
        "mixed_no_errors": not mixed["errors"],
        "rss_lt_300mb_per_worker": bool(rss) and max(rss) < 300,
    }
    return {**checks, "all_met": all(checks.values())}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=15, help="whole seconds (wrk's unit)")
    parser.add_argument("--warmup", type=int, default=3, help="whole seconds")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    parser.add_argument("--agents", type=int, default=AGENTS, help="how many agents share the load")
    parser.add_argument("--postgres-url", default=os.environ.get("AIQ_TEST_POSTGRES_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("AIQ_TEST_REDIS_URL"))
    parser.add_argument("--database", help="database name to load into (and reuse with --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the database after the run")
    parser.add_argument("--baseline-src", help="also measure the package in this src folder")
    parser.add_argument("--logs", help="copy the servers' and workers' logs to this folder")
    args = parser.parse_args()
    if not args.postgres_url:
        parser.error("PostgreSQL is the production database: give --postgres-url")
    name = args.database or f"aiq_bench_http_{os.getpid()}"
    url = await bench_database(args.postgres_url, name, keep=args.keep)
    settings = Settings(database_url=url, secret_key=SECRET, encryption_keys=KEYS)
    started = time.perf_counter()
    tokens, lead_ids = await prepare(settings, args.leads)
    tokens = tokens[: args.agents]
    prepare_s = time.perf_counter() - started
    postgres_settings = await _postgres_settings(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.pop("PYTHONPATH", None)
    env.update(server_settings(url, args.redis_url))
    makers = request_makers(lead_ids)
    codes: dict[str, str | None] = {"candidate": None}
    if args.baseline_src:
        codes["baseline"] = args.baseline_src
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in codes}
    labels = list(codes)
    try:
        with tempfile.TemporaryDirectory(prefix="aiq-bench-http-") as tmp:
            try:
                for r in range(args.rounds):
                    for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
                        result = await run_code(
                            label, codes[label], env, args, makers, tokens, Path(tmp)
                        )
                        result["bars"] = bars(result)
                        runs[label].append(result)
                        print(json.dumps({label: result["bars"]}), file=sys.stderr)
            finally:
                if args.logs:
                    shutil.copytree(tmp, args.logs, dirs_exist_ok=True)
    finally:
        if not args.keep:
            await drop_database(args.postgres_url, name)
    print(
        json.dumps(
            {
                "benchmark": "http",
                "when": NOW.isoformat(timespec="seconds"),
                "backend": "postgresql",
                "postgres_settings": postgres_settings,
                "redis": bool(args.redis_url),
                "leads": args.leads,
                "prepare_seconds": round(prepare_s, 1),
                "workers": args.workers,
                "concurrency": args.concurrency,
                "agents": len(tokens),
                "seconds_per_phase": args.seconds,
                "rounds": args.rounds,
                "cpus": os.cpu_count(),
                "load_generator": "wrk, one thread, same machine",
                "background_worker": (
                    "aiqleads worker: 1 Dramatiq process, relay and scheduler"
                    if args.redis_url
                    else "none: without Redis the API workers run their tasks in-process"
                ),
                "mix": {"search": 0.5, "preview": 0.2, "heatmap": 0.1, "cart": 0.2},
                "runs": runs,
            },
            indent=2,
        )
    )


def server_settings(url: str, redis_url: str | None) -> dict[str, str]:
    """The server's AIQ_ settings, as in production: the database at `url`, Redis at
    `redis_url` (None: none), rate limits and JSON access logs on; the bench's secret and key."""
    env = {
        "AIQ_ENV": "development",
        "AIQ_DATABASE_URL": url,
        "AIQ_SECRET_KEY": SECRET,
        "AIQ_ENCRYPTION_KEYS": KEYS,
        "AIQ_LOG_LEVEL": "INFO",
        "AIQ_LOG_JSON": "true",
        "AIQ_ACCESS_LOG": "true",
        "AIQ_RATE_LIMIT__ENABLED": "true",
    }
    if redis_url:
        env["AIQ_REDIS_URL"] = redis_url
    return env


async def bench_database(admin_url: str, name: str, *, keep: bool) -> str:
    """The URL of database `name` on the server of `admin_url`: made afresh, unless `keep` and
    it exists (then reused as it is)."""
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    if not keep or not await _exists(admin_url, name):
        url = await recreate_database(admin_url, name)
    return url


async def _exists(admin_url: str, name: str) -> bool:
    dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
