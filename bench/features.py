"""Lead features and scoring: batch build, online feature + score latency, calibration on the
simulator's holdout, and the X Education check, as one JSON document.

    .venv/bin/python bench/features.py [--size 100000] [--online 200] [--agents 36]
        [--leads-csv ../shared/data/leads/Leads.csv] [--skip-xeducation]

A fresh SQLite database gets `--size` leads around King County's ZIP centroids (bench/catalog.py's
generator) and a seeded simulated history over 240 days (aiqleads.scoring.simulator, backfilled:
every lead on the market from the window's start). Then, in one process on one core:

* precompute: the slow parts the online path reads back, as the batch jobs write them: the
  "lead_geo" set into the feature store (`aiqleads features build --set lead_geo`) and a
  snapshot of every ZIP's and metro's market context (`aiqleads market compute`'s
  `store_contexts`), each in seconds;
* batch: the scoring model's features (the "lead_market" set: aiqleads.features.lead_market)
  for every lead (seconds of wall and CPU time), reading the precomputed parts;
* model: the training pipeline (LightGBM + isotonic calibration) on the leads whose simulated
  decision fell in the first half of the window, evaluated on the second half (a time-based
  split), features as known at the window's start; AUC, log loss and expected calibration error
  (10 equal-width bins) beside a scikit-learn logistic regression on the same split (the baseline
  in the same run);
* online: the same features for one lead (online path) + the model's prediction for
  `--online` random leads (p50/p95 in ms), beside one lead row read by primary key in the
  same session (the floor);
* X Education: 5-fold cross-validated AUC of the same pipeline on the real leads (skipped when
  the file is absent), beside its logistic regression.

Bars (issue 10): online p95 < 10 ms; batch < 60 s at 100k leads on one core; ECE <= 0.02 on the
simulator's holdout; X Education AUC >= 0.89.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sqlalchemy import select

from aiqleads.config import Environment, Settings
from aiqleads.db import migrate
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.features import service as feature_store
from aiqleads.features.clusters import ClusterCache
from aiqleads.features.lead import GEO_SET
from aiqleads.features.lead_market import ContextCache
from aiqleads.features.lead_market import (
    lead_market_features_batch as lead_features_batch,
)
from aiqleads.features.lead_market import (
    lead_market_features_online as lead_features_online,
)
from aiqleads.market import service as market
from aiqleads.models import Lead
from aiqleads.models.enums import Role, Tier
from aiqleads.scoring import evaluation, simulator, xeducation
from aiqleads.scoring.model import TrainConfig, train

sys.path.insert(0, str(Path(__file__).resolve().parent))
if TYPE_CHECKING:  # mypy names bench's files from the project root (see pyproject.toml)
    from bench.catalog import NOW, load_sqlite
else:
    from catalog import NOW, load_sqlite

DAYS = 240
TIERS = (Tier.BASIC, Tier.BASIC, Tier.PRO, Tier.PRO, Tier.ENTERPRISE)


def percentiles(samples: list[float]) -> dict[str, float]:
    a = np.asarray(samples) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
        "max_ms": round(float(a.max()), 2),
    }


async def _agents(settings: Settings, count: int) -> list[simulator.SimAgent]:
    from aiqleads.auth import service

    out = []
    engine = create_engine(settings)
    try:
        async with transaction(session_factory(engine)) as session:
            for i in range(count):
                account = await service.create_account(
                    session,
                    email=f"sim-agent-{i:02d}@example.com",
                    password=f"bench password {i} of the simulated agents",
                    role=Role.AGENT,
                    tier=TIERS[i % len(TIERS)],
                    now=NOW,
                )
                out.append(simulator.SimAgent(account.id, Tier(account.tier)))
    finally:
        await engine.dispose()
    return out


def _logistic(X_fit: np.ndarray[Any, Any], y_fit: np.ndarray[Any, Any]) -> Any:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return model.fit(X_fit, y_fit)


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db = workdir / "features.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{db}", env=Environment.TEST)
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    await engine.dispose()
    agents = await _agents(settings, args.agents)
    started = time.perf_counter()
    await asyncio.to_thread(load_sqlite, db, args.size)
    load_s = time.perf_counter() - started

    start, end = NOW - timedelta(days=DAYS), NOW
    engine = create_engine(settings)
    sessions = session_factory(engine)
    try:
        async with transaction(sessions) as session:
            sim = await simulator.simulate(
                session, agents, start=start, end=end, seed=args.seed, backfill=True
            )
        # Precompute: what the batch jobs write for both paths to read back.
        fs = settings.features
        async with transaction(sessions) as session:
            t0 = time.perf_counter()
            geo = await feature_store.build(session, GEO_SET, NOW, settings=fs)
            geo_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            regions = await market.store_contexts(session, now=NOW)
            contexts_s = time.perf_counter() - t0
        precompute = {
            "lead_geo_leads": geo.entities,
            "lead_geo_seconds": round(geo_s, 2),
            "context_regions": regions,
            "contexts_seconds": round(contexts_s, 2),
        }
        # Batch: every lead's features, as known now.
        async with sessions() as session:
            wall, cpu = time.perf_counter(), time.process_time()
            matrix = await lead_features_batch(session, NOW)
            batch = {
                "leads": len(matrix.lead_ids),
                "features": len(matrix.names),
                "seconds": round(time.perf_counter() - wall, 2),
                "cpu_seconds": round(time.process_time() - cpu, 2),
            }
        # Model: labels from the log, a time-based split on each lead's decision instant.
        async with sessions() as session:
            labels = await simulator.labels(session, since=start, until=end)
            at_start = await lead_features_batch(session, start, [int(i) for i in labels.lead_ids])
        decided = {o.lead_id: o.decision_at for o in sim.outcomes}
        middle = start + (end - start) / 2
        row_of = {int(i): n for n, i in enumerate(at_start.lead_ids)}
        X = np.asarray(at_start.values)[[row_of[int(i)] for i in labels.lead_ids]]
        early = np.array([decided.get(int(i), end) < middle for i in labels.lead_ids])
        model = train(
            X[early],
            labels.y[early],
            at_start.names,
            config=TrainConfig(num_threads=1),
            version="bench",
        )
        held = evaluation.evaluate(labels.y[~early], model.predict(X[~early])).as_dict()
        lr = _logistic(X[early], labels.y[early])
        baseline = evaluation.evaluate(
            labels.y[~early], lr.predict_proba(X[~early])[:, 1]
        ).as_dict()
        scoring = {
            "labelled": len(labels.y),
            "train": int(early.sum()),
            "holdout": int((~early).sum()),
            "positive_share": round(float(labels.y.mean()), 4),
            "model": held,
            "logistic_regression": baseline,
        }
        # Online: one lead's features and score, against one row by primary key.
        rng = random.Random(args.seed)
        ids = rng.sample([int(i) for i in matrix.lead_ids], min(args.online, len(matrix.lead_ids)))
        cache = ClusterCache(eps_m=fs.cluster_eps_m, min_samples=fs.cluster_min_samples)
        contexts = ContextCache()  # the snapshots read, as a serving process keeps them
        online, floor = [], []
        names = list(at_start.names)
        async with sessions() as session:
            # warm the caches
            await lead_features_online(session, ids[0], NOW, clusters=cache, contexts=contexts)
            for lead_id in ids:
                t0 = time.perf_counter()
                values = await lead_features_online(
                    session, lead_id, NOW, clusters=cache, contexts=contexts
                )
                model.predict(np.array([[values[n] for n in names]]))
                online.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                (await session.execute(select(Lead.__table__).where(Lead.id == lead_id))).one()
                floor.append(time.perf_counter() - t0)
    finally:
        await engine.dispose()
    return {
        "size": args.size,
        "events": len(sim.events),
        "load_seconds": round(load_s, 2),
        "precompute": precompute,
        "batch": batch,
        "scoring_holdout": scoring,
        "online": {"requests": len(online), **percentiles(online)},
        "online_floor_row_by_pk": percentiles(floor),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--online", type=int, default=200)
    parser.add_argument("--agents", type=int, default=36)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--leads-csv",
        type=Path,
        default=Path(os.environ.get("AIQLEADS_SHARED_DATA", "../shared/data"))
        / "leads"
        / "Leads.csv",
    )
    parser.add_argument("--skip-xeducation", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiq-bench-features-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    if not args.skip_xeducation and args.leads_csv.is_file():
        t0 = time.perf_counter()
        cv = xeducation.cross_validate(xeducation.load(args.leads_csv))
        result["xeducation"] = {
            "seconds": round(time.perf_counter() - t0, 1),
            "model_auc": round(cv["model"]["auc"], 4),
            "logistic_regression_auc": round(cv["logistic_regression"]["auc"], 4),
            "published_auc": cv["published_auc"],
        }
    else:
        result["xeducation"] = None
    held = result["scoring_holdout"]["model"]
    result["bars"] = {
        "online_p95_under_10ms": result["online"]["p95_ms"] < 10,
        "batch_under_60s": result["batch"]["seconds"] < 60,
        "holdout_ece_at_most_0.02": held["ece"] <= 0.02,
        "xeducation_auc_at_least_0.89": None
        if result["xeducation"] is None
        else result["xeducation"]["model_auc"] >= 0.89,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
