"""Where an API request's CPU goes: each hot route driven in-process over ASGI, one request at a
time, and the single round trips a request is made of, with `/health` as the floor, in one run.

    .venv/bin/python bench/request_costs.py [--leads 20000] [--requests 2000]
        [--postgres-url postgresql+asyncpg://...] [--redis-url redis://...]
        [--database NAME] [--keep] [--routes health me search preview]

`bench/http.py` measures throughput through uvicorn under wrk, where the load generator,
PostgreSQL, Redis and the server share the cores and a run moves ±20 % with the machine. This
measures the server's own CPU time per request (`time.process_time` of this process, which runs
the application; PostgreSQL's and Redis's time is theirs) with nothing else running: steadier,
so two versions of the code can be compared, and split into its parts.

The application is built as `aiqleads serve` builds it (`create_served_app`) from the same
settings as `bench/http.py`'s server (PostgreSQL, Redis, rate limits and JSON access logs on; the
logs are formatted, then dropped; no other AIQ_ variable of this shell reaches it) on the same
data (`bench/http_load.py`'s agents and leads; `--database NAME --keep` shares a database with
it), but for the principal cache's time to live: a day instead of 5 s, so that each agent's
account is read once in a run rather than as often as the machine's pace makes 5 s lapse (an
agent sending a request a second adds 0.2 statements to each). Routes: `/health`,
`/api/v1/auth/me` (an authenticated no-op), catalog search (the same filters as bench/http.py,
50 rows), lead preview, heatmap and cart, the agents taken in turn. After a warm-up of the same
requests, the page and geo caches hold every search and heatmap: the figures are cache hits'.

Round trips, each timed alone over `--requests` runs: a Redis GET through the app's client, a
rate-limit check (`RequestLimiter.check`: one script, `ratelimit.moving_window`), a page-cache
key's database read (`geo.repository.cache_inputs.key_inputs` as a search makes it, on the
driver: `AppState.rows_by_key`; and in a read session, as before `db.row_reads`),
`SELECT 1` through a SQLAlchemy connection of the app's engine without a transaction (as a
`reads_only` route's session runs it), and `SELECT 1` on a bare asyncpg connection (what the
driver alone costs).

Prints one JSON document: CPU µs per request and per round trip; per request, SQL statements,
database transactions (a BEGIN and a COMMIT each, which the statements leave out) and Redis
requests (`RoundTrips`), the CPU µs PostgreSQL's and Redis's own processes spent on it (Linux's
/proc; this machine's servers, which must serve nothing else meanwhile), and Python function
calls, in all and by package (cProfile, over at
most 500 more requests; it counts each resumption of a coroutine as a call, and this script's
own few): the round trips are the same on any machine and the calls move by a few, where CPU
time moves ±30 % between runs on a shared one; the answers by status (of every request sent,
warm-up included); and each route's multiple of `/health`. No bar: issue 14's bars are
bench/http.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import os
import pstats
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from aiqleads.config import Settings
from aiqleads.db.databases import drop_database
from aiqleads.db.row_reads import AnySelect, DriverRows, SessionRows
from aiqleads.geo.repository.cache_inputs import key_inputs

if TYPE_CHECKING:
    from bench.cart import pids_cpu_seconds
    from bench.catalog import SECRET
    from bench.http_load import KEYS, bench_database, prepare, request_makers, server_settings
else:
    from cart import pids_cpu_seconds
    from catalog import SECRET
    from http_load import KEYS, bench_database, prepare, request_makers, server_settings

ROUTES = ("health", "me", "search", "preview", "heatmap", "cart")


class _Discard(io.TextIOBase):
    """A stream that takes every line and keeps none: the log records are still formatted."""

    def write(self, text: str) -> int:
        return len(text)


def _scope(path: str, token: str) -> dict[str, Any]:
    """An HTTP/1.1 GET as uvicorn hands it to the application."""
    route, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _get(app: Any, path: str, token: str) -> int:
    """Send one GET through `app`; its status."""
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(_scope(path, token), receive, send)
    return status


async def _cpu_us(
    run: Callable[[int], Awaitable[Any]], n: int, *, warm: bool = True
) -> tuple[float, float]:
    """(CPU µs, wall µs) per call of `run(i)` for i in range(n), after (`warm`) a warm-up of
    the same `n` calls (so every search is in the page cache, as in a steady state)."""
    if warm:
        for i in range(n):
            await run(i)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(n):
        await run(i)
    return (time.process_time() - cpu) * 1e6 / n, (time.perf_counter() - wall) * 1e6 / n


_SERVERS = {"postgres": "database_cpu_us", "redis-server": "redis_cpu_us"}


def _servers_cpu() -> dict[str, float]:
    """CPU seconds used so far by this machine's PostgreSQL and Redis processes, by the figure's
    name (`_SERVERS`), found by their name in Linux's /proc: the bench runs both servers here,
    and nothing else should use them while it runs. A process that exits between two readings
    takes its time with it (the pool's connections live on)."""
    figures: dict[int, str] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:  # gone since the listing
            continue
        if name in _SERVERS:
            figures[int(pid)] = _SERVERS[name]
    out = dict.fromkeys(_SERVERS.values(), 0.0)
    for server, seconds in pids_cpu_seconds(list(figures)).items():
        out[figures[server]] += seconds
    return out


class RoundTrips:
    """Counts the application's round trips while it runs: SQL statements and transactions on
    its engines (SQLAlchemy events, and the one-row reads `db.row_reads` runs on the driver)
    and Redis requests (connections taken from its Redis
    client's pool, which the rate limiter shares: one per command or pipeline, whatever a Lua
    script does inside). Unlike CPU time, the same on any machine. The background dispatcher's
    polls are among them, a few a second."""

    def __init__(self, state: Any) -> None:
        self.statements = 0
        self.transactions = 0
        self.redis_requests = 0
        for engine in {state.engine, state.generic_engine}:
            event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
            event.listen(engine.sync_engine, "begin", self._begin)
        # Reads by key on asyncpg run on the driver itself, out of SQLAlchemy's sight.
        fetch = DriverRows._fetch

        async def counted_fetch(
            rows: DriverRows, stmt: AnySelect, params: Mapping[str, Any]
        ) -> tuple[Any, list[Any]]:
            self.statements += 1
            return await fetch(rows, stmt, params)

        setattr(DriverRows, "_fetch", counted_fetch)  # noqa: B010 (a method replaced for the run)
        pool = state.redis.connection_pool
        take = pool.get_connection

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.redis_requests += 1
            return await take(*args, **kwargs)

        pool.get_connection = counted

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _begin(self, connection: Any) -> None:
        # A session of a `reads_only` route runs each statement on its own (AUTOCOMMIT): no
        # BEGIN or COMMIT is sent. Any other transaction costs those two round trips, which
        # the driver sends without a cursor (so `_statement` does not see them).
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self.transactions += 1

    async def per_call(
        self, run: Callable[[int], Awaitable[Any]], n: int
    ) -> tuple[float, float, dict[str, float]]:
        """`_cpu_us`'s figures, and per call (the warm-up's left out): SQL statements, database
        transactions (each a BEGIN and a COMMIT more) and Redis requests, and the CPU µs
        PostgreSQL's and Redis's processes spent (`_servers_cpu`)."""
        for i in range(n):
            await run(i)
        before = (self.statements, self.transactions, self.redis_requests)
        servers = _servers_cpu()
        cpu, wall = await _cpu_us(run, n, warm=False)
        servers = {k: v - servers[k] for k, v in _servers_cpu().items()}
        after = (self.statements, self.transactions, self.redis_requests)
        names = ("sql_statements", "sql_transactions", "redis_requests")
        counts = {k: round((a - b) / n, 2) for k, a, b in zip(names, after, before, strict=True)}
        counts.update({k: round(v * 1e6 / n, 1) for k, v in servers.items()})
        return cpu, wall, counts


async def _python_calls(run: Callable[[int], Awaitable[Any]], n: int) -> tuple[int, dict[str, int]]:
    """Python function calls per call of `run(i)` over `n` calls, counted by cProfile (built-in
    functions included), in all and for the six packages that make the most: a proxy of CPU
    time that is the same on any machine, for comparing two versions of the code."""
    profile = cProfile.Profile()
    profile.enable()
    try:
        for i in range(n):
            await run(i)
    finally:
        profile.disable()
    stats = pstats.Stats(profile)
    packages: Counter[str] = Counter()
    for (filename, _, _), (_, calls, *_) in stats.stats.items():  # type: ignore[attr-defined]
        packages[_package(filename)] += calls
    total = sum(packages.values())
    return round(total / n), {k: round(v / n) for k, v in packages.most_common(6)}


def _package(filename: str) -> str:
    """The top-level package a profiled function's file is in: "builtins", "aiqleads.<name>",
    a third-party package's folder, "generated" (code made at run time: dataclasses', pydantic's),
    "bench" (this script) or "stdlib"."""
    if filename.startswith("~"):
        return "builtins"
    if filename.startswith("<") and not filename.startswith("<frozen"):
        return "generated"
    if "/bench/" in filename:
        return "bench"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/aiqleads/" in filename:
        top = filename.rsplit("/aiqleads/", 1)[1].split("/", 1)[0]
        return "aiqleads." + top.removesuffix(".py")
    return "stdlib"


async def measure(
    url: str, redis_url: str, tokens: list[str], lead_ids: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """Every route's and round trip's cost against the app built on `url` and `redis_url`."""
    for name in [k for k in os.environ if k.startswith("AIQ_")]:
        del os.environ[name]
    os.environ.update(server_settings(url, redis_url))
    os.environ["AIQ_CACHE_NAMESPACE"] = f"costs{os.getpid()}"
    from aiqleads.app import create_served_app
    from aiqleads.auth.principal_cache import configure_principal_cache
    from aiqleads.config import get_settings

    get_settings.cache_clear()  # read again from the environment just set
    app = create_served_app()
    # Past the settings' 60 s ceiling on purpose: see the module's docstring.
    configure_principal_cache(86_400)
    makers = request_makers(lead_ids)
    out: dict[str, Any] = {"routes": {}, "round_trips": {}}
    # The logs (the access log among them) are formatted as in production, then dropped: the
    # run's output is its JSON alone.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(_Discard())
    async with app.router.lifespan_context(app):
        counts = RoundTrips(app.state.aiq)
        for route in args.routes:
            statuses: Counter[int] = Counter()
            make = makers[route]

            async def one(
                i: int, make: Callable[[int], str] = make, seen: Counter[int] = statuses
            ) -> None:
                seen[await _get(app, make(i), tokens[i % len(tokens)])] += 1

            cpu, wall, sent = await counts.per_call(one, args.requests)
            calls, by_package = await _python_calls(one, min(args.requests, 500))
            out["routes"][route] = {
                "cpu_us": round(cpu, 1),
                "wall_us": round(wall, 1),
                **sent,
                "python_calls": calls,
                "python_calls_by_package": by_package,
                "statuses": {str(k): v for k, v in sorted(statuses.items())},
            }
        state = app.state.aiq
        out["round_trips"] = await _round_trips(state, url, args.requests)
    floor = out["routes"].get("health", {}).get("cpu_us")
    if floor:
        for figures in out["routes"].values():
            figures["x_health"] = round(figures["cpu_us"] / floor, 1)
    return out


async def _round_trips(state: Any, url: str, n: int) -> dict[str, Any]:
    """Each round trip timed alone over `n` runs: {name: {"cpu_us", "wall_us"}} per run."""
    now = state.clock.now()
    limiter_scope: dict[str, Any] = {"type": "http", "client": ("127.0.0.1", 1), "state": {}}

    async def redis_get(_: int) -> None:
        await state.redis.get("aiq-bench-request-costs-absent")

    async def rate_limit(i: int) -> None:
        # A limit no run reaches, on 200 keys as the agents' are.
        await state.limiter.check(
            limiter_scope, 10**9, "account", f"costs{i % 200}", label=("account", "bench")
        )

    async def key_read(_: int) -> None:
        await key_inputs(state.rows_by_key, ["seattle"], cutoff=None, now=now)

    async def key_read_session(_: int) -> None:
        async with state.read_sessions() as session:
            await key_inputs(SessionRows(session), ["seattle"], cutoff=None, now=now)

    select_one = text("SELECT 1")
    autocommit = state.engine.execution_options(isolation_level="AUTOCOMMIT")

    async def sqlalchemy_select(_: int) -> None:
        async with autocommit.connect() as conn:
            await conn.execute(select_one)

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    bare = await asyncpg.connect(dsn)

    async def asyncpg_select(_: int) -> None:
        await bare.fetchval("SELECT 1")

    out: dict[str, Any] = {}
    try:
        for name, run in (
            ("redis_get", redis_get),
            ("rate_limit_check", rate_limit),
            ("cache_key_read", key_read),
            ("cache_key_read_session", key_read_session),
            ("sqlalchemy_select_1", sqlalchemy_select),
            ("asyncpg_select_1", asyncpg_select),
        ):
            cpu, wall = await _cpu_us(run, n)
            out[name] = {"cpu_us": round(cpu, 1), "wall_us": round(wall, 1)}
    finally:
        await bare.close()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=2_000, help="per route and round trip")
    parser.add_argument("--routes", nargs="+", choices=ROUTES, default=list(ROUTES))
    parser.add_argument("--postgres-url", default=os.environ.get("AIQ_TEST_POSTGRES_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("AIQ_TEST_REDIS_URL"))
    parser.add_argument("--database", help="database name to load into (and reuse with --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the database after the run")
    args = parser.parse_args()
    if not args.postgres_url or not args.redis_url:
        parser.error("the production topology: give --postgres-url and --redis-url")
    if args.requests < 10:
        parser.error("--requests must be at least 10")
    name = args.database or f"aiq_bench_costs_{os.getpid()}"
    url = await bench_database(args.postgres_url, name, keep=args.keep)
    try:
        settings = Settings(database_url=url, secret_key=SECRET, encryption_keys=KEYS)
        tokens, lead_ids = await prepare(settings, args.leads)
        result = await measure(url, args.redis_url, tokens, lead_ids, args)
    finally:
        if not args.keep:
            await drop_database(args.postgres_url, name)
    print(
        json.dumps(
            {
                "benchmark": "request_costs",
                "leads": args.leads,
                "requests": args.requests,
                "python": sys.version.split()[0],
                "unit": "CPU µs of the application's process per request or round trip",
                **result,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
