"""Recommendations: inference and end-to-end latency, and offline NDCG@10 against baselines.

    .venv/bin/python bench/recommend.py [--leads 1000000] [--agents 1000] [--days 30]
        [--test-days 6] [--requests 300] [--keep DIR] [--baseline-src DIR]
        [--postgres-url postgresql+asyncpg://...]

On SQLite, or on PostgreSQL with `--postgres-url` (a database `aiq_bench_rec_<leads>` created
on that server, dropped at the end unless `--keep` is given): leads generated around King
County's ZIP centroids and bulk-loaded by `bench/catalog.py`'s loaders (SQLite: indexes built
after the rows; PostgreSQL: COPY, then VACUUM ANALYZE); `--agents` simulated agents with hidden
true preferences act on them for `--days` days (`aiqleads.recommend.simulator`; their stated
preferences stored as theirs); then

1. offline: `aiqleads evaluate recommender`'s evaluation (time split, the last `--test-days`
   days the test): precision, recall, NDCG@10, hit rate and coverage of the learned LambdaRank
   model and of the popularity, random and nearest-in-territory baselines;
2. the recommender is trained on the whole history (`aiqleads train recommender`) and served;
3. inference: for `--requests` agents, the model's part of a request (features, scores, order,
   diversification, reasons) on the candidates the service reads, in this process, p50/p95;
4. end to end: one `aiqleads serve` process answers `GET /api/v1/recommendations?limit=10`
   for those agents, one request at a time, p50/p95 (the server's CPU time per request beside).
   With `--baseline-src DIR` (another checkout's `src`, e.g. `git archive main src | tar -x`),
   a server running that code answers the same requests first, on the same data (on SQLite,
   when that code predates migration 0032, with the ZIP index as it was before it: the schema
   that code had), then this code's: old and new back to back, as the machine is shared.

Each phase's time goes to stderr as it ends, so a run at 1M that is stopped still says where
its time went.

Prints one JSON document. Bars (issue 11): inference p95 < 10 ms, end-to-end p95 < 50 ms,
NDCG@10 ≥ 1.3 × the best baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import catalog  # type: ignore[import-not-found]
from aiqleads.auth.tokens import TokenType, make_token
from aiqleads.config import Settings
from aiqleads.db import migrate
from aiqleads.db.databases import drop_database, recreate_database
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.leads.visibility import viewer_for
from aiqleads.models import Account
from aiqleads.models.enums import Tier
from aiqleads.recommend import offline, repository, service, trainer
from aiqleads.recommend.features import LeadTable, feature_matrix
from aiqleads.recommend.ranker import load
from aiqleads.recommend.ranking import diversify, order, reason

NOW = catalog.NOW


def pct(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "n": len(ordered),
        "p50_ms": round(q[49] * 1e3, 3),
        "p95_ms": round(q[94] * 1e3, 3),
        "max_ms": round(ordered[-1] * 1e3, 3),
    }


async def inference(
    settings: Settings, agents: list[int], artifact: Path
) -> tuple[dict[str, Any], dict[str, float]]:
    """(the model's part per request, the whole service call in process incl. SQL)."""
    ranker = load(artifact)
    s = settings.recommend
    engine = create_engine(settings)
    sessions = session_factory(engine)
    model_times: list[float] = []
    model_cpu: list[float] = []
    service_times: list[float] = []
    policy = settings.tiers[Tier.ENTERPRISE.value]
    window = timedelta(days=s.candidate_window_days) if s.candidate_window_days else None
    try:
        for account_id in agents:
            async with transaction(sessions) as session:
                account = await session.get(Account, account_id)
                assert account is not None
                from aiqleads.auth.principal import Principal

                principal = Principal.of(account)
                viewer = viewer_for(principal, policy, NOW)
                started = time.perf_counter()
                profile = await service.load_profile(session, account_id, settings=s, now=NOW)
                window = (
                    timedelta(days=s.candidate_window_days) if s.candidate_window_days else None
                )
                rows = await repository.candidates(
                    session, viewer, profile, pool=s.candidate_pool, window=window
                )
                table = LeadTable.from_rows(rows)
                cells = [int(c) for c in set(table.h3_r8.tolist()) if c]
                counts = await repository.competition(
                    session, cells, since=NOW - timedelta(days=30), until=NOW
                )
                t0, c0 = time.perf_counter(), time.thread_time()
                comp = np.asarray([counts.get(int(c), 0) for c in table.h3_r8], dtype=float)
                X = feature_matrix(profile, table, NOW.timestamp(), competition=comp)
                scores = ranker.score(X)
                ranked = order(scores, [str(r.public_id) for r in rows])
                chosen = diversify(ranked, table.h3_r8, max_per_cell=s.max_per_cell, limit=10)
                _ = [reason(X[i], table, i) for i in chosen]
                t1 = time.perf_counter()
                model_cpu.append(time.thread_time() - c0)
                model_times.append(t1 - t0)
                service_times.append(t1 - started)
    finally:
        await engine.dispose()
    # CPU time beside wall time: on a shared machine the wall time includes waiting for a core.
    return {**pct(model_times), "cpu": pct(model_cpu)}, pct(service_times)


# CPU seconds of this process per phase (every thread: the load runs in one), beside the wall
# times: on a shared machine a phase's wall time is mostly waiting for a core.
PHASE_CPU: dict[str, float] = {}
_cpu_mark = [time.process_time()]


def phase(name: str, started: float) -> float:
    """Say on stderr how long the phase took (wall, and this process's CPU since the previous
    phase ended); returns its wall duration in seconds."""
    took = round(time.perf_counter() - started, 1)
    cpu = time.process_time()
    PHASE_CPU[name] = round(cpu - _cpu_mark[0], 1)
    _cpu_mark[0] = cpu
    print(
        f"recommend bench: {name} {took} s (cpu {PHASE_CPU[name]} s)", file=sys.stderr, flush=True
    )
    return took


ZIP_INDEX = "ix_leads_zip_published"  # migration 0032 appends status, held_until
ZIP_INDEX_COLUMNS = {
    True: "zip_code, published_at, public_id, status, held_until",
    False: "zip_code, published_at, public_id",
}


def zip_index(path: Path, *, covering: bool) -> None:
    """Give the SQLite file migration 0032's ZIP index (`covering`) or main's, before 0032 (the
    baseline runs on the schema its code had)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"DROP INDEX IF EXISTS {ZIP_INDEX}")
        conn.execute(f"CREATE INDEX {ZIP_INDEX} ON leads ({ZIP_INDEX_COLUMNS[covering]})")
        conn.commit()
    finally:
        conn.close()


def has_migration(src: Path, revision: str) -> bool:
    """Whether the code in `src` (a checkout's `src` folder) has migration `revision`."""
    return any((src / "aiqleads" / "db" / "migrations" / "versions").glob(f"{revision}_*.py"))


async def end_to_end(env: dict[str, str], workdir: Path, tokens: list[str]) -> dict[str, Any]:
    port = catalog.free_port()
    proc = catalog.serve(env, port, workdir)
    base = f"http://127.0.0.1:{port}"
    try:
        await catalog.wait_ready(base, proc)
        samples: list[float] = []
        versions: set[str] = set()
        errors = 0
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for token in tokens[:20]:  # warm-up: the model is loaded at the first request
                await client.get(
                    "/api/v1/recommendations", headers={"Authorization": f"Bearer {token}"}
                )
            cpu = catalog.cpu_seconds(proc.pid)
            for token in tokens:
                start = time.perf_counter()
                res = await client.get(
                    "/api/v1/recommendations",
                    params={"limit": 10},
                    headers={"Authorization": f"Bearer {token}"},
                )
                samples.append(time.perf_counter() - start)
                if res.status_code != 200:
                    errors += 1
                else:
                    versions.add(res.headers["X-Recommender-Version"])
            used = catalog.cpu_seconds(proc.pid) - cpu
        return {
            **pct(samples),
            "errors": errors,
            "versions": sorted(versions),
            "server_cpu_ms_per_request": round(used * 1000 / len(tokens), 3),
            "server_rss_mb": catalog.rss_mb(proc.pid),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    if args.postgres_url is None:
        return await _run(args, workdir, None)
    url = await recreate_database(args.postgres_url, postgres_name(args))
    try:
        return await _run(args, workdir, url)
    finally:
        if args.keep is None:
            await drop_database(args.postgres_url, postgres_name(args))
        else:
            print(f"recommend bench: kept {postgres_name(args)}", file=sys.stderr)


def postgres_name(args: argparse.Namespace) -> str:
    return f"aiq_bench_rec_{args.leads}"


async def _run(args: argparse.Namespace, workdir: Path, postgres: str | None) -> dict[str, Any]:
    """The benchmark on the PostgreSQL database `postgres` (a URL), else on a SQLite file in
    `workdir`."""
    path = workdir / "bench_recommend.db"
    url = postgres or f"sqlite+aiosqlite:///{path}"
    settings = Settings(
        database_url=url,
        secret_key=catalog.SECRET,
        encryption_keys=catalog.KEYS,
        recommend={"artifacts": str(workdir / "models")},
    )
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    await engine.dispose()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    if postgres is None:
        await asyncio.to_thread(catalog.load_sqlite, path, args.leads)
    else:
        await catalog.load_postgres(url, args.leads)
    timings["load_leads_s"] = phase("load leads", t)
    engine = create_engine(settings)
    sessions = session_factory(engine)
    try:
        t = time.perf_counter()
        async with transaction(sessions) as session:
            prefs = await offline.simulate(
                session, agents=args.agents, days=args.days, seed=args.seed, now=NOW
            )
        timings["simulate_s"] = phase("simulate", t)
        t = time.perf_counter()
        async with transaction(sessions) as session:
            evaluation = await offline.evaluate_recommender(
                session,
                prefs=prefs,
                days=args.days,
                test_days=args.test_days,
                now=NOW,
                settings=settings.recommend,
                seed=args.seed,
            )
        timings["evaluate_s"] = phase("evaluate", t)
        t = time.perf_counter()
        async with transaction(sessions) as session:
            trained = await trainer.train_from_log(
                session,
                since=NOW - timedelta(days=args.days),
                until=NOW,
                now=NOW,
                settings=settings.recommend,
                artifacts=workdir / "models",
                version="bench-1",
            )
        timings["train_s"] = phase("train", t)
        async with transaction(sessions) as session:
            accounts = (
                await session.execute(
                    select(Account.id, Account.public_id, Account.token_version).where(
                        Account.id.in_(list(prefs))
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    rng = random.Random(args.seed)
    sample = rng.sample(list(accounts), min(args.requests, len(accounts)))
    t = time.perf_counter()
    model_p, service_p = await inference(
        settings, [a.id for a in sample], workdir / "models" / "bench-1"
    )
    timings["inference_s"] = phase("inference", t)
    tokens = [
        make_token(
            catalog.SECRET,
            subject=str(a.public_id),
            token_type=TokenType.ACCESS,
            now=NOW,
            ttl=timedelta(hours=6),
            version=a.token_version,
        )[0]
        for a in sample
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update(
        {
            "AIQ_DATABASE_URL": url,
            "AIQ_SECRET_KEY": catalog.SECRET,
            "AIQ_ENCRYPTION_KEYS": catalog.KEYS,
            "AIQ_LOG_LEVEL": "WARNING",
            "AIQ_ACCESS_LOG": "false",
            "AIQ_RATE_LIMIT__ENABLED": "false",
            "AIQ_WORKER__START_IN_APP": "false",
        }
    )
    baseline = None
    old_schema = False
    if args.baseline_src is not None:
        t = time.perf_counter()
        old_schema = postgres is None and not has_migration(args.baseline_src, "0032")
        if old_schema:
            zip_index(path, covering=False)
        old_env = {**env, "PYTHONPATH": str(args.baseline_src.resolve())}
        try:
            baseline = await end_to_end(old_env, workdir, tokens)
        finally:
            if old_schema:
                zip_index(path, covering=True)
        timings["end_to_end_baseline_s"] = phase("end to end, baseline", t)
    t = time.perf_counter()
    e2e = await end_to_end(env, workdir, tokens)
    timings["end_to_end_s"] = phase("end to end", t)
    scores = evaluation["scores"]
    return {
        "benchmark": "recommend",
        "backend": "sqlite" if postgres is None else "postgresql",
        "leads": args.leads,
        "agents": args.agents,
        "days": args.days,
        "cpu_count": os.cpu_count(),
        "timings": timings,
        "timings_cpu_s": PHASE_CPU,
        "training": trained["metrics"],
        "offline": evaluation,
        "inference": model_p,
        "service_in_process": service_p,
        "end_to_end": e2e,
        "end_to_end_baseline": None
        if baseline is None
        else {
            "src": str(args.baseline_src),
            "schema": "before migration 0032" if old_schema else "this code's",
            **baseline,
        },
        "bars": {
            "inference_p95_ms_lt_10": model_p["p95_ms"] < 10,
            "end_to_end_p95_ms_lt_50": e2e["p95_ms"] < 50,
            "ndcg_ge_1_3x_best_baseline": (evaluation["ndcg_ratio_to_best_baseline"] or 0) >= 1.3,
            "ndcg_learned": scores["learned"]["ndcg"],
            "ndcg_best_baseline": scores[evaluation["best_baseline"]]["ndcg"],
        },
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--test-days", type=float, default=6.0)
    parser.add_argument("--requests", type=int, default=300, help="agents asked, one request each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep the files")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="also serve the same requests first with the code of this src folder",
    )
    parser.add_argument(
        "--postgres-url",
        default=None,
        help="run on PostgreSQL: a server URL whose user may create databases",
    )
    args = parser.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = await run(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="aiq-bench-rec-") as tmp:
            result = await run(args, Path(tmp))
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    asyncio.run(main())
