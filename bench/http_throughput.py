"""What rate limiting and access logs cost: requests/s of a lead preview and a catalog search
through `aiqleads serve`, with each of them off and on, in one run.

    .venv/bin/python bench/http_throughput.py [--leads 20000] [--seconds 8] [--rounds 3]
        [--workers 2] [--concurrency 16] [--postgres-url postgresql+asyncpg://...] [--redis-url redis://...]

Leads are generated around King County ZIP centroids and stored through the one write path of
the `leads` table (`leads.writes.upsert`, in batches of 2,000). 200
enterprise agents share the load round-robin, each under its own limit of 1,000 requests a
minute (so every request is counted and none refused, as with many clients in production).
Four server configurations — nothing, rate limits, access logs, both — are started in turn,
in a rotated order per round, and each endpoint is driven for `--seconds` at `--concurrency`
by one asyncio client in this process (it shares the cores, as DESIGN.md's reference figures
do). Access logs go to a file, as a process supervisor would keep them. Each figure is the
median over the rounds. On SQLite the limits count in process memory; with --postgres-url and
--redis-url, on PostgreSQL and in Redis (the production set-up).

Prints one JSON document. The bar (issue 12): rate limits and access logs together cost under
10 % of each endpoint's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select

from aiqleads.auth import service
from aiqleads.config import Settings
from aiqleads.db import migrate
from aiqleads.db.databases import recreate_database
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.ingestion.normalize.coordinates import _zip_table
from aiqleads.kit.crypto import FieldCipher, blind_index, generate_key
from aiqleads.leads import writes
from aiqleads.models import Lead
from aiqleads.models.enums import Role, Tier

if TYPE_CHECKING:
    from bench.serving import free_port, start_server, stop_server, wait_ready
else:
    from serving import free_port, start_server, stop_server, wait_ready

AGENTS = 200
SECRET = "bench-secret-key-0123456789abcdef-0123456789"
KEYS = generate_key("bench")
PASSWORD = "bench password 1"
NOW = datetime.now(UTC)


def lead_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """`n` leads for `leads.writes.upsert` around King County's ZIP centroids, published long
    enough ago for every tier to see them."""
    rng = random.Random(seed)
    zips = [
        (z, info.lat, info.lon, info.city.title())
        for z, info in _zip_table().items()
        if info.state == "WA" and 47.08 <= info.lat <= 47.78 and -122.54 <= info.lon <= -121.06
    ]
    cipher = FieldCipher(KEYS)
    owners = [cipher.encrypt(f"Owner {i}") for i in range(50)]
    phones = [f"+1206555{100 + i:04d}" for i in range(50)]
    rows = []
    for i in range(n):
        z, lat, lon, city = zips[i % len(zips)]
        rows.append(
            {
                "source": "bench",
                "source_ref": f"h{i}",
                "source_url": None,
                "kind": rng.choice(["fsbo", "for_sale", "for_sale", "for_rent"]),
                "listing_status": None,
                "title": None,
                "property_type": "single_family",
                "bedrooms": rng.randrange(1, 6),
                "bathrooms": rng.choice([1.0, 1.5, 2.0, 2.5]),
                "living_area_sqft": rng.randrange(600, 4000),
                "lot_sqft": rng.randrange(1000, 20000),
                "year_built": rng.randrange(1900, 2024),
                "asking_price_cents": rng.randrange(150_000, 2_000_000) * 100,
                "currency": "USD",
                "street_address": f"{i} Bench St",
                "unit": None,
                "city": city,
                "state": "WA",
                "zip_code": z,
                "address_key": None,
                "latitude": lat + rng.gauss(0, 0.01),
                "longitude": lon + rng.gauss(0, 0.014),
                "geocode_precision": "exact",
                "owner_name_enc": owners[i % 50],
                "owner_phone_enc": cipher.encrypt(phones[i % 50]),
                "owner_email_enc": None,
                "owner_phone_hmac": blind_index(SECRET, phones[i % 50]),
                "listing_agent": None,
                "listing_office": None,
                "listed_at": NOW - timedelta(days=rng.randrange(3, 90)),
                "published_at": NOW - timedelta(days=2),
                "score": round(rng.random(), 3),
                "model_version": "rules-1",
                "price_cents": rng.randrange(500, 5001),
                "price_currency": "USD",
            }
        )
    return rows


CONFIGS = {
    "off": {"AIQ_RATE_LIMIT__ENABLED": "false", "AIQ_ACCESS_LOG": "false"},
    "rate_limits": {"AIQ_RATE_LIMIT__ENABLED": "true", "AIQ_ACCESS_LOG": "false"},
    "access_logs": {"AIQ_RATE_LIMIT__ENABLED": "false", "AIQ_ACCESS_LOG": "true"},
    "both": {"AIQ_RATE_LIMIT__ENABLED": "true", "AIQ_ACCESS_LOG": "true"},
}


async def prepare(settings: Settings, n: int) -> list[str]:
    """Migrate, store `n` leads, create the agents; return some public lead ids to preview."""
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    async with transaction(session_factory(engine)) as session:
        for i in range(AGENTS):
            await service.create_account(
                session,
                email=f"agent{i}@bench.example.com",
                password=PASSWORD,
                role=Role.AGENT,
                tier=Tier.ENTERPRISE,
                now=NOW,
            )
    rows = lead_rows(n)
    for start in range(0, n, 2000):
        async with transaction(session_factory(engine)) as session:
            await writes.upsert(session, rows[start : start + 2000], now=NOW, cause="bench")
    async with transaction(session_factory(engine)) as session:
        ids = (
            await session.scalars(
                select(Lead.public_id).where(Lead.status == "available").limit(500)
            )
        ).all()
    await engine.dispose()
    return [str(i) for i in ids]


async def tokens(base: str) -> list[dict[str, str]]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        out = []
        for i in range(AGENTS):
            res = await client.post(
                "/api/v1/auth/token",
                data={"username": f"agent{i}@bench.example.com", "password": PASSWORD},
            )
            res.raise_for_status()
            out.append({"Authorization": f"Bearer {res.json()['access_token']}"})
        return out


async def drive(
    base: str,
    paths: list[str],
    auth: list[dict[str, str]],
    *,
    seconds: float,
    concurrency: int,
    warmup: float = 1.5,
) -> dict[str, Any]:
    """Requests/s answered 200 over `seconds` after a warm-up, and the other answers seen."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    ok = 0
    other: dict[str, int] = {}
    counting = False
    stop = False

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def worker(k: int) -> None:
            nonlocal ok
            i = k
            while not stop:
                res = await client.get(paths[i % len(paths)], headers=auth[i % len(auth)])
                i += concurrency
                if not counting:
                    continue
                if res.status_code == 200:
                    ok += 1
                else:
                    other[str(res.status_code)] = other.get(str(res.status_code), 0) + 1

        tasks = [asyncio.create_task(worker(k)) for k in range(concurrency)]
        await asyncio.sleep(warmup)
        counting = True
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        counting = False
        elapsed = time.perf_counter() - started
        stop = True
        await asyncio.gather(*tasks)
    return {"rps": round(ok / elapsed, 1), "non_200": other}


async def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'bench_http.db'}"
        redis_url = None
    else:
        url = await recreate_database(args.postgres_url, f"aiq_bench_http_{os.getpid()}")
        redis_url = args.redis_url
    settings = Settings(database_url=url, secret_key=SECRET, encryption_keys=KEYS)
    lead_ids = await prepare(settings, args.leads)
    endpoints = {
        "lead_preview": [f"/api/v1/leads/{i}" for i in lead_ids],
        "catalog_search": ["/api/v1/leads?metro=seattle&limit=20"],
    }
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    base_env.update(
        {
            "AIQ_DATABASE_URL": url,
            "AIQ_SECRET_KEY": SECRET,
            "AIQ_ENCRYPTION_KEYS": KEYS,
            "AIQ_LOG_LEVEL": "INFO",
            "AIQ_LOG_JSON": "true",
            "AIQ_ACCESS_TOKEN_MINUTES": "240",
            # Logins of the 200 agents come from one address: not what is measured.
            "AIQ_RATE_LIMIT__ANONYMOUS_PER_MINUTE": "100000",
            "AIQ_RATE_LIMIT__LOGIN_PER_MINUTE": "1000",
        }
    )
    if redis_url:
        base_env["AIQ_REDIS_URL"] = redis_url
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        c: {e: [] for e in endpoints} for c in CONFIGS
    }
    auth: list[dict[str, str]] | None = None
    names = list(CONFIGS)
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for config in order:
            env = {
                **base_env,
                **CONFIGS[config],
                # Fresh rate-limit counts (Redis keeps them across restarts).
                "AIQ_CACHE_NAMESPACE": f"bench{uuid.uuid4().hex[:8]}",
            }
            port = free_port()
            proc = start_server(env, port, args.workers, workdir / f"serve-{config}.log")
            base = f"http://127.0.0.1:{port}"
            try:
                await wait_ready(base, proc)
                auth = auth or await tokens(base)
                for endpoint, paths in endpoints.items():
                    results[config][endpoint].append(
                        await drive(
                            base,
                            paths,
                            auth,
                            seconds=args.seconds,
                            concurrency=args.concurrency,
                        )
                    )
            finally:
                stop_server(proc)
    summary: dict[str, Any] = {
        "backend": backend,
        "rate_limit_storage": "redis" if redis_url else "memory",
    }
    medians: dict[str, dict[str, float]] = {}
    for config, per_endpoint in results.items():
        medians[config] = {
            e: statistics.median(run["rps"] for run in runs) for e, runs in per_endpoint.items()
        }
        summary[config] = {
            e: {
                "rps_median": medians[config][e],
                "rps_runs": [run["rps"] for run in runs],
                "non_200": sum(sum(run["non_200"].values()) for run in runs),
            }
            for e, runs in per_endpoint.items()
        }
    cost = {
        config: {e: round(100 * (1 - medians[config][e] / medians["off"][e]), 1) for e in endpoints}
        for config in ("rate_limits", "access_logs", "both")
    }
    summary["cost_percent_of_throughput"] = cost
    summary["bar_both_under_10_percent"] = all(v < 10 for v in cost["both"].values())
    return summary


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--postgres-url", default=os.environ.get("AIQ_TEST_POSTGRES_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("AIQ_TEST_REDIS_URL"))
    parser.add_argument("--backends", nargs="+", default=None, choices=["sqlite", "postgres"])
    args = parser.parse_args()
    backends = args.backends or (["sqlite", "postgres"] if args.postgres_url else ["sqlite"])
    out: dict[str, Any] = {
        "benchmark": "http_rate_limits_and_access_logs",
        "when": NOW.isoformat(timespec="seconds"),
        "leads": args.leads,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "seconds_per_measure": args.seconds,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "results": [],
    }
    with tempfile.TemporaryDirectory(prefix="aiq-bench-http-") as tmp:
        for backend in backends:
            out["results"].append(await run_backend(backend, args, Path(tmp)))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
