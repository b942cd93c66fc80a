"""Holds and checkout under contention, through the HTTP API, on PostgreSQL.

    .venv/bin/python bench/cart.py [--postgres-url postgresql+asyncpg://...] [--agents 50]
        [--hot 10] [--cold 10000] [--seconds 20] [--rate 50] [--workers 2]

50 agents (enterprise, so the cart limit is not what stops them) race for 10 hot leads while
taking and releasing holds on 10,000 cold ones, against one `aiqleads serve` with two worker
processes. Two phases, because a latency means something only at a stated load:

* capacity (closed loop): every agent sends its next request as soon as the last is answered,
  for `--seconds`; gives hold requests per second the server sustains. Its latencies are the
  queue of 50 agents waiting on two processes (Little's law: in flight / throughput) and are
  reported, not judged.
* latency (open loop): the agents together try `--rate` holds per second (each its own Poisson
  arrivals, half on hot leads, released at once when taken) for `--seconds`; then each agent
  holds five cold leads and the 50 check out at `--checkout-rate` per second (Poisson), for
  `--checkout-rounds` rounds (4: 200 checkouts, their latencies pooled). The bars are judged
  here. A burst of all 50 checkouts at once is reported beside it.

Prints one JSON document: holds per second, hold latency p50/p95/p99 (hot and cold) in both
phases, checkout latency, `/health` latency (the HTTP floor) measured alone and at the open
phase's load, and in both hold phases the CPU time per hold or release request of the server's
processes, of the database's backends serving it and of this load generator (from /proc:
latency is noisy on a shared machine, CPU much less), and the double sales found
(purchases of one lead > 1, and sold leads without exactly one purchase). Bars (issue 9):
hold p95 < 20 ms, checkout p95 < 100 ms, 0 double sales. Request rate limits are off in the
server (they would answer the closed loop with 429s); access logs stay on. The load generator
shares the machine's cores with the server, so its timed requests go through aiohttp's client:
about 0.5 ms of CPU per request where httpx's took 2 ms (measured here, 2 vCPUs), CPU that
would otherwise be taken from the server it measures (setup and login still use httpx).

Open-loop latency is measured from the moment each try was due (its scheduled send time), not
from when the agent got round to sending it, so a slow answer that delays the agent's next try
counts against that try too (no coordinated omission); the time from the actual send is
reported beside it as `service`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from sqlalchemy import func, select, text

from aiqleads.auth import service as auth_service
from aiqleads.config import Settings
from aiqleads.db import migrate
from aiqleads.db.databases import drop_database, recreate_database
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.kit.crypto import FieldCipher, blind_index, generate_key
from aiqleads.leads import writes
from aiqleads.models import Lead, Purchase
from aiqleads.models.enums import Role, Tier

SECRET = "bench-secret-key-0123456789abcdef-0123456789"
KEYS = generate_key("bench")
PASSWORD = "bench password 1"
NOW = datetime.now(UTC)


def lead_rows(n: int, cipher: FieldCipher, seed: int = 3) -> list[dict[str, Any]]:
    """`n` Seattle leads for the write path, published a day ago (past every window)."""
    rng = random.Random(seed)
    owner = cipher.encrypt("Owner Bench")
    phone = "+12065550100"
    rows = []
    for i in range(n):
        rows.append(
            {
                "source": "bench",
                "source_ref": f"c{i}",
                "source_url": None,
                "kind": "for_sale",
                "listing_status": None,
                "title": None,
                "property_type": "single_family",
                "bedrooms": 3,
                "bathrooms": 2.0,
                "living_area_sqft": 1800,
                "lot_sqft": 5000,
                "year_built": 1990,
                "asking_price_cents": rng.randrange(200_000, 900_000) * 100,
                "currency": "USD",
                "street_address": f"{i} Bench St",
                "unit": None,
                "city": "Seattle",
                "state": "WA",
                "zip_code": "98101",
                "address_key": None,
                "latitude": 47.55 + rng.random() * 0.15,
                "longitude": -122.40 + rng.random() * 0.15,
                "geocode_precision": "exact",
                "owner_name_enc": owner,
                "owner_phone_enc": cipher.encrypt(phone),
                "owner_email_enc": None,
                "owner_phone_hmac": blind_index(SECRET, phone),
                "listing_agent": None,
                "listing_office": None,
                "listed_at": NOW - timedelta(days=5),
                "published_at": NOW - timedelta(days=1),
                "score": 0.6,
                "model_version": "bench",
                "price_cents": 2000,
                "price_currency": "USD",
            }
        )
    return rows


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def summary(ms: list[float]) -> dict[str, Any]:
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2) if ms else None,
        "p95_ms": pct(ms, 0.95),
        "p99_ms": pct(ms, 0.99),
    }


async def prepare(settings: Settings, n_agents: int, n_leads: int) -> tuple[list[str], list[str]]:
    """Migrate, store the leads, create the agents: (emails, lead public ids)."""
    engine = create_engine(settings)
    try:
        await migrate.upgrade(engine)
        sessions = session_factory(engine)
        cipher = FieldCipher(KEYS)
        rows = lead_rows(n_leads, cipher)
        for start in range(0, len(rows), 2000):
            async with transaction(sessions) as session:
                await writes.upsert(session, rows[start : start + 2000], now=NOW, cause="bench")
        emails = []
        async with transaction(sessions) as session:
            for i in range(n_agents):
                account = await auth_service.create_account(
                    session,
                    email=f"agent{i}@bench.example.com",
                    password=PASSWORD,
                    role=Role.AGENT,
                    tier=Tier.ENTERPRISE,
                    now=NOW,
                )
                emails.append(account.email)
            await session.execute(text("ANALYZE"))
        async with sessions() as session:
            ids = [
                str(p)
                for p in (await session.scalars(select(Lead.public_id).order_by(Lead.id))).all()
            ]
        return emails, ids
    finally:
        await engine.dispose()


def start_server(env: dict[str, str], port: int, workers: int, log: Any) -> subprocess.Popen[bytes]:
    """`aiqleads serve` with `workers` processes (before the event loop's work starts)."""
    command = [sys.executable, "-m", "aiqleads", "serve", "--port", str(port)]
    return subprocess.Popen(
        [*command, "--workers", str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system, seconds) used so far by process `pid` and its descendants
    alive now (the server and its workers), from Linux's /proc/<pid>/stat (fields 14, 15 in
    clock ticks; proc(5)). The load generator and the database are not counted."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier += children
    return sum(ticks.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


def pids_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time (user + system, seconds) of each of `pids` still alive (proc(5))."""
    out = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


class BackendCpu:
    """CPU time of the PostgreSQL backends connected to the bench's database (the server's
    pools, which keep their connections for the run), read from /proc: only when the database
    runs on this machine (else every figure is None). A backend started meanwhile counts from
    zero; one that ended meanwhile is lost (the pools close none while the load lasts)."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings, pool_size=1, max_overflow=0)

    async def pids(self) -> list[int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return [int(r[0]) for r in rows]

    async def sample(self) -> dict[int, float] | None:
        pids = await self.pids()
        found = pids_cpu_seconds(pids)
        return found if pids and found else None

    @staticmethod
    def spent(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
        if before is None or after is None:
            return None
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def contention(
    base: str,
    tokens: list[dict[str, str]],
    hot: list[str],
    cold: list[str],
    seconds: float,
    *,
    rate: float | None,
    server_pid: int | None = None,
    backends: BackendCpu | None = None,
) -> dict[str, Any]:
    """Every agent, until the time is up, alternately tries a hot lead (held by someone most of
    the time) and a cold one, releasing what it gets. `rate` None: the next try as soon as the
    last is answered (closed loop); else the agents together try `rate` holds per second, each
    waiting an exponential gap (Poisson arrivals) measured from when its try was due, so a slow
    answer does not lower the load offered (open loop). With `server_pid`, also the server's CPU
    time per request (holds and releases; wall-clock latency is noisy on a shared machine),
    and with `backends` the database's. Open-loop latencies run from when the try was due."""
    hot_ms: list[float] = []
    cold_ms: list[float] = []
    service_ms: list[float] = []  # from the actual send (differs from the above in open loop)
    held = 0
    deadline = time.perf_counter() + seconds
    per_agent = None if rate is None else rate / len(tokens)

    async def agent(n: int, client: aiohttp.ClientSession) -> None:
        nonlocal held
        rng = random.Random(n)
        due = time.perf_counter()
        tries = 0
        while True:
            if per_agent is not None:
                due += rng.expovariate(per_agent)
                if due >= deadline:
                    return
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if time.perf_counter() >= deadline:
                return
            is_hot = tries % 2 == 0
            tries += 1
            lead = rng.choice(hot if is_hot else cold)
            sent = time.perf_counter()
            started = sent if per_agent is None else due
            async with client.post(
                "/api/v1/cart/holds", json={"lead_ids": [lead]}, headers=tokens[n]
            ) as res:
                answer = await res.json()
            answered = time.perf_counter()
            (hot_ms if is_hot else cold_ms).append((answered - started) * 1000)
            service_ms.append((answered - sent) * 1000)
            if answer["held"]:
                held += 1
                async with client.delete(f"/api/v1/cart/holds/{lead}", headers=tokens[n]) as res:
                    await res.read()

    # Idle connections closed before uvicorn's keep-alive timeout (5 s) closes them: an agent
    # that waited longer would otherwise send on a socket the server is closing (ReadError).
    connector = aiohttp.TCPConnector(limit=len(tokens) + 10, keepalive_timeout=2.0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:
        cpu = None if server_pid is None else tree_cpu_seconds(server_pid)
        db_before = None if backends is None else await backends.sample()
        own = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(agent(n, client) for n in range(len(tokens))))
        elapsed = time.perf_counter() - started
        own = time.process_time() - own
        db_cpu = None if backends is None else BackendCpu.spent(db_before, await backends.sample())
        if server_pid is not None and cpu is not None:
            cpu = tree_cpu_seconds(server_pid) - cpu
    attempts = len(hot_ms) + len(cold_ms)
    requests = attempts + held

    def per_request(seconds: float | None) -> float | None:
        return None if seconds is None else round(seconds * 1000 / max(requests, 1), 2)

    server: dict[str, Any] = {"requests_holds_and_releases": requests}
    if cpu is not None:
        server["server_cpu_ms_per_request"] = per_request(cpu)
    if backends is not None:
        server["postgres_cpu_ms_per_request"] = per_request(db_cpu)
    server["load_generator_cpu_ms_per_request"] = per_request(own)
    return {
        "offered_holds_per_s": rate,
        "seconds": round(elapsed, 1),
        "hold_requests_per_s": round(attempts / elapsed, 1),
        "holds_taken_per_s": round(held / elapsed, 1),
        "hot": summary(hot_ms),
        "cold": summary(cold_ms),
        "all": summary(hot_ms + cold_ms),
        "service": summary(service_ms),
        **server,
    }


async def checkouts(
    base: str,
    tokens: list[dict[str, str]],
    cold: list[str],
    per_agent: int,
    *,
    rate: float | None,
    rounds: int = 1,
    server_pid: int | None = None,
    backends: BackendCpu | None = None,
) -> dict[str, Any]:
    """`rounds` times: every agent holds `per_agent` cold leads of its own (from `cold`, fresh
    each round), then checks out: all at once (`rate` None), or arriving at `rate` checkouts
    per second (Poisson). One checkout per agent and round, the latencies of all rounds pooled
    (50 agents give 50 a round: a p95 of 50 is its third worst). With `server_pid` and
    `backends`, the server's and the database's CPU time per checkout, over the checkouts
    alone (each round's holds left out)."""
    rng = random.Random(7)
    connector = aiohttp.TCPConnector(keepalive_timeout=2.0)  # as in `contention`
    timeout = aiohttp.ClientTimeout(total=60)
    results: list[tuple[float, int]] = []
    cpu = db_cpu = 0.0
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:
        for round_ in range(rounds):
            offset = round_ * per_agent * len(tokens)
            for n, token in enumerate(tokens):
                mine = cold[offset + n * per_agent : offset + (n + 1) * per_agent]
                async with client.post(
                    "/api/v1/cart/holds", json={"lead_ids": mine}, headers=token
                ) as res:
                    answer = await res.json()
                assert answer["held"] == per_agent, answer
            gaps = [0.0 if rate is None else rng.expovariate(rate) for _ in tokens]
            starts = [sum(gaps[: i + 1]) for i in range(len(gaps))]
            origin = time.perf_counter()

            async def buy(token: dict[str, str], at: float, origin: float) -> tuple[float, int]:
                await asyncio.sleep(max(0.0, origin + at - time.perf_counter()))
                started = origin + at  # when it was due (see the module's docstring)
                headers = {**token, "Idempotency-Key": str(uuid.uuid4())}
                async with client.post("/api/v1/checkout", headers=headers) as res:
                    await res.read()
                return (time.perf_counter() - started) * 1000, res.status

            paired = zip(tokens, starts, strict=True)
            server_before = None if server_pid is None else tree_cpu_seconds(server_pid)
            db_before = None if backends is None else await backends.sample()
            results += await asyncio.gather(*(buy(t, at, origin) for t, at in paired))
            if server_pid is not None and server_before is not None:
                cpu += tree_cpu_seconds(server_pid) - server_before
            if backends is not None:
                db_cpu += BackendCpu.spent(db_before, await backends.sample()) or 0.0
    spent: dict[str, Any] = {}
    if server_pid is not None:
        spent["server_cpu_ms_per_checkout"] = round(cpu * 1000 / max(len(results), 1), 2)
    if backends is not None:
        spent["postgres_cpu_ms_per_checkout"] = round(db_cpu * 1000 / max(len(results), 1), 2)
    return {
        "offered_checkouts_per_s": rate,
        "rounds": rounds,
        **summary([ms for ms, _ in results]),
        "statuses": sorted({s for _, s in results}),
        "leads_per_checkout": per_agent,
        **spent,
    }


async def floor(base: str, n: int) -> dict[str, Any]:
    ms = []
    async with aiohttp.ClientSession(base, timeout=aiohttp.ClientTimeout(total=10)) as client:
        for _ in range(n):
            started = time.perf_counter()
            async with client.get("/health") as res:
                await res.read()
            ms.append((time.perf_counter() - started) * 1000)
    return summary(ms)


async def double_sales(settings: Settings) -> dict[str, int]:
    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            per_lead = (
                select(Purchase.lead_id, func.count().label("n"))
                .group_by(Purchase.lead_id)
                .subquery()
            )
            doubled = await session.scalar(
                select(func.count()).select_from(per_lead).where(per_lead.c.n > 1)
            )
            sold = await session.scalar(
                select(func.count()).select_from(Lead).where(Lead.status == "sold")
            )
            purchases = await session.scalar(select(func.count()).select_from(Purchase))
        return {
            "leads_bought_twice": int(doubled or 0),
            "sold_leads": int(sold or 0),
            "purchases": int(purchases or 0),
        }
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get("AIQ_TEST_POSTGRES_URL"))
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--hot", type=int, default=10)
    parser.add_argument("--cold", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--per-checkout", type=int, default=5)
    parser.add_argument("--rate", type=float, default=50.0, help="holds tried per second (open)")
    parser.add_argument("--checkout-rate", type=float, default=10.0, help="checkouts per second")
    parser.add_argument(
        "--checkout-rounds", type=int, default=4, help="paced checkouts per agent (pooled)"
    )
    args = parser.parse_args()
    if not args.postgres_url:
        parser.error("give --postgres-url or set AIQ_TEST_POSTGRES_URL")
    needed = (args.checkout_rounds + 1) * args.per_checkout * args.agents
    if needed > args.cold:
        parser.error(f"the checkouts need {needed} cold leads of their own: raise --cold")
    name = f"aiq_bench_cart_{os.getpid()}"
    url = await recreate_database(args.postgres_url, name)
    settings = Settings(database_url=url, secret_key=SECRET, encryption_keys=KEYS, log_json=False)
    workdir = Path(tempfile.mkdtemp(prefix="aiq-bench-cart-"))
    emails, ids = await prepare(settings, args.agents, args.hot + args.cold)
    hot, cold = ids[: args.hot], ids[args.hot :]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update(
        {
            "AIQ_DATABASE_URL": url,
            "AIQ_SECRET_KEY": SECRET,
            "AIQ_ENCRYPTION_KEYS": KEYS,
            "AIQ_LOG_LEVEL": "WARNING",
            "AIQ_ACCESS_TOKEN_MINUTES": "60",
            "AIQ_RATE_LIMIT__ENABLED": "false",
        }
    )
    port = free_port()
    log = (workdir / "serve.log").open("w")
    proc = start_server(env, port, args.workers, log)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            # Two workers importing the app take seconds, and minutes on a machine shared by
            # several runs (3 min seen at load 20): wait up to five minutes for /ready, and say
            # so if it never comes (not a ConnectError at login).
            ready_by = time.perf_counter() + 300
            while True:
                try:
                    if (await client.get("/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.perf_counter() > ready_by:
                    raise SystemExit("the server was not ready within 300 s (see its log)")
                await asyncio.sleep(0.1)
            tokens = []
            for email in emails:
                res = await client.post(
                    "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
                )
                tokens.append({"Authorization": f"Bearer {res.json()['access_token']}"})
        backends = BackendCpu(settings)
        result = {
            "benchmark": "cart",
            "database": "postgresql",
            "workers": args.workers,
            "agents": args.agents,
            "hot_leads": args.hot,
            "cold_leads": args.cold,
            "health_floor": await floor(base, 300),
            "capacity_closed_loop": await contention(
                base,
                tokens,
                hot,
                cold,
                args.seconds,
                rate=None,
                server_pid=proc.pid,
                backends=backends,
            ),
        }
        # The open phase's /health at the same load: what any request waits there.
        busy = asyncio.create_task(
            contention(
                base,
                tokens,
                hot,
                cold,
                args.seconds,
                rate=args.rate,
                server_pid=proc.pid,
                backends=backends,
            )
        )
        await asyncio.sleep(args.seconds / 4)
        result["health_under_open_load"] = await floor(base, 100)
        result["holds_open_loop"] = await busy
        n = args.per_checkout * len(tokens)
        rounds = args.checkout_rounds
        paced, burst = cold[: rounds * n], cold[rounds * n : (rounds + 1) * n]
        result["checkout_open_loop"] = await checkouts(
            base,
            tokens,
            paced,
            args.per_checkout,
            rate=args.checkout_rate,
            rounds=rounds,
            server_pid=proc.pid,
            backends=backends,
        )
        result["checkout_burst"] = await checkouts(
            base, tokens, burst, args.per_checkout, rate=None
        )
        await backends.engine.dispose()
        result["double_sales"] = await double_sales(settings)
        result["bars"] = {
            "hold_p95_ms_under_20": (result["holds_open_loop"]["all"]["p95_ms"] or 1e9) < 20,
            "checkout_p95_ms_under_100": (result["checkout_open_loop"]["p95_ms"] or 1e9) < 100,
            "no_double_sales": result["double_sales"]["leads_bought_twice"] == 0,
        }
        print(json.dumps(result, indent=2))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        await drop_database(args.postgres_url, name)


if __name__ == "__main__":
    asyncio.run(main())
