"""A/B experiments: what serving under an experiment adds to a request, how fast exposures are
written, and how long a report takes at scale, as one JSON document.

    .venv/bin/python bench/experiments.py [--leads 10000] [--agents 1000] [--exposures 100000]
        [--requests 2000] [--seed 7]

A fresh SQLite database gets `--leads` leads (bench/catalog.py's generator), `--agents` agent
accounts and one running 50/50 experiment on the recommendations surface. Then, in one process:

* serving: for `--requests` random agents, `assignment_for` (the one select a served list adds)
  and `record_exposure` into the process's recorder (a buffer: the write happens after the
  request), p50/p95 in ms; beside them, one lead row read by primary key in a session of its
  own (the floor in the same run);
* writes: `--exposures` lists of 10 leads served over 14 days, written by the recorder's
  batched flush (exposures/s); the agents' views, holds, purchases and returns of those leads
  drawn with a known lift for the second variant (clicks 5 % → 6 % of served leads, holds 1 %
  → 1.2 %, purchases 0.3 % → 0.4 %), appended to the event log;
* report: `service.report` (exposures and events read, joined, tested) and the PNG chart,
  seconds; with the report's headline figures (per-agent purchase rates, the difference's CI,
  the p-value, the sample-ratio check), which should find the lift and no mismatch.

No bar is set for these in DESIGN.md; the serving overhead is what matters for the
recommendations' end-to-end p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import insert, select

from aiqleads.config import Environment, Settings
from aiqleads.db import migrate
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.events import repository as events
from aiqleads.experiments import chart, service
from aiqleads.experiments.recorder import ExposureRecorder
from aiqleads.experiments.schemas import ExperimentIn
from aiqleads.models import Account, Lead
from aiqleads.models.enums import EventKind, Role, Tier

sys.path.insert(0, str(Path(__file__).resolve().parent))
if TYPE_CHECKING:  # mypy names bench's files from the project root (see pyproject.toml)
    from bench.catalog import NOW, load_sqlite
else:
    from catalog import NOW, load_sqlite

SURFACE = "recommendations"
LIST_SIZE = 10
DAYS = 14
# Per served lead: the chance of each outcome, control and treatment.
RATES = {
    "control": {EventKind.VIEW: 0.05, EventKind.HOLD: 0.010, EventKind.PURCHASE: 0.003},
    "model": {EventKind.VIEW: 0.06, EventKind.HOLD: 0.012, EventKind.PURCHASE: 0.004},
}
RETURNED = 0.1  # share of purchases returned, in both variants


def percentiles(samples: list[float]) -> dict[str, float]:
    a = np.asarray(samples) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
        "max_ms": round(float(a.max()), 3),
    }


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db = workdir / "experiments.db"
    settings = Settings(
        env=Environment.TEST, database_url=f"sqlite+aiosqlite:///{db}", log_json=False
    )
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    load_sqlite(db, args.leads)
    sessions = session_factory(engine)
    rng = random.Random(args.seed)
    start = NOW - timedelta(days=DAYS + 1)
    try:
        async with transaction(sessions) as session:
            lead_ids = list((await session.scalars(select(Lead.id))).all())
            await session.execute(
                insert(Account),
                [
                    {
                        "email": f"bench-agent-{i}@example.com",
                        "password_hash": "!never-signs-in",
                        "role": Role.AGENT.value,
                        "tier": Tier.BASIC.value,
                        "created_at": start,
                        "updated_at": start,
                        "public_id": uuid.uuid4(),
                    }
                    for i in range(args.agents)
                ],
            )
            agent_ids = list(
                (await session.scalars(select(Account.id).where(Account.role == "agent"))).all()
            )
            given = ExperimentIn.model_validate(
                {
                    "name": "bench",
                    "variants": [
                        {"name": "control", "weight": 1},
                        {"name": "model", "weight": 1, "config": {"recommender": "model"}},
                    ],
                }
            )
            await service.create(session, given, now=start, settings=settings.experiments)
            await service.start(session, "bench", now=start)

        # --- serving overhead ---------------------------------------------------------------
        recorder = ExposureRecorder(sessions, interval=3600, batch=10**9)
        assign_s: list[float] = []
        expose_s: list[float] = []
        floor_s: list[float] = []
        for _ in range(args.requests):
            agent = rng.choice(agent_ids)
            async with sessions() as session:
                t0 = time.perf_counter()
                await session.execute(select(Lead.id, Lead.price_cents).where(Lead.id == agent))
                floor_s.append(time.perf_counter() - t0)
            async with sessions() as session:
                t0 = time.perf_counter()
                found = await service.assignment_for(
                    session, surface=SURFACE, agent_id=agent, now=NOW
                )
                t1 = time.perf_counter()
                assert found is not None
                served = rng.sample(lead_ids, LIST_SIZE)
                await service.record_exposure(
                    session, found, agent, served, NOW, latency_seconds=0.005, recorder=recorder
                )
                t2 = time.perf_counter()
            assign_s.append(t1 - t0)
            expose_s.append(t2 - t1)
        await recorder.flush()  # these few belong to the serving measure, not the writes one

        # --- exposures and outcomes ---------------------------------------------------------
        async with sessions() as session:
            variant_of = {
                a: found.variant
                for a in agent_ids
                if (
                    found := await service.assignment_for(
                        session, surface=SURFACE, agent_id=a, now=NOW
                    )
                )
            }
        logged: list[dict[str, Any]] = []
        # With a recorder, record_exposure only buffers: the session is not used.
        idle = sessions()
        for _ in range(args.exposures):
            agent = rng.choice(agent_ids)
            variant = variant_of[agent]
            at = start + timedelta(seconds=rng.uniform(0, DAYS * 86400))
            served = rng.sample(lead_ids, LIST_SIZE)
            latency = rng.lognormvariate(-5.3, 0.4)  # about 5 ms
            assignment = service.Assignment(1, "bench", variant)
            await service.record_exposure(
                idle,
                assignment,
                agent,
                served,
                at,
                latency_seconds=latency,
                recorder=recorder,
            )
            for lead in served:
                for kind, p in RATES[variant].items():
                    if rng.random() < p:
                        when = at + timedelta(hours=rng.uniform(0, 48))
                        logged.append(events.event(kind, account_id=agent, lead_id=lead, at=when))
                        if kind is EventKind.PURCHASE and rng.random() < RETURNED:
                            logged.append(
                                events.event(
                                    EventKind.RETURN,
                                    account_id=agent,
                                    lead_id=lead,
                                    at=when + timedelta(days=3),
                                )
                            )
        await idle.close()
        t0 = time.perf_counter()
        written = await recorder.flush()
        write_s = time.perf_counter() - t0
        async with transaction(sessions) as session:
            for i in range(0, len(logged), 20_000):
                await events.append(session, logged[i : i + 20_000])

        # --- the report ---------------------------------------------------------------------
        now = NOW + timedelta(days=8)
        t0, c0 = time.perf_counter(), time.process_time()
        async with sessions() as session:
            report = await service.report(session, "bench", now=now, settings=settings.experiments)
        report_s, report_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        png = chart.render(report)
        chart_s, chart_cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        await engine.dispose()
    purchase = next(c for c in report.comparisons if c.metric == "purchase")
    click = next(c for c in report.comparisons if c.metric == "click")
    return {
        "machine": "2 cores shared with other sessions' work; SQLite file in a temp folder",
        "leads": args.leads,
        "agents": args.agents,
        "serving": {
            "requests": args.requests,
            "assignment_for": percentiles(assign_s),
            "record_exposure_buffered": percentiles(expose_s),
            "floor_one_row_by_primary_key": percentiles(floor_s),
        },
        "writes": {
            "exposures": written,
            "seconds": round(write_s, 3),
            "exposures_per_second": round(written / write_s),
            "events": len(logged),
        },
        "report": {
            "seconds": round(report_s, 3),
            "cpu_seconds": round(report_cpu, 3),
            "chart_seconds": round(chart_s, 3),
            "chart_cpu_seconds": round(chart_cpu, 3),
            "chart_bytes": len(png),
            "exposures": sum(v.exposures for v in report.variants),
            "agents_per_variant": [v.agents for v in report.variants],
            "purchase_rate_per_agent": [v.outcomes["purchase"].rate for v in report.variants],
            "purchase_difference": round(purchase.difference, 4),
            "purchase_ci": [round(purchase.ci_low, 4), round(purchase.ci_high, 4)],
            "purchase_p_value": purchase.p_value,
            "purchase_per_list_p_value": purchase.per_list.p_value if purchase.per_list else None,
            "click_per_list": None
            if click.per_list is None
            else {
                "rates": [click.per_list.control_rate, click.per_list.variant_rate],
                "ci": [round(click.per_list.ci_low, 4), round(click.per_list.ci_high, 4)],
                "p_value": click.per_list.p_value,
            },
            "click_exposure_rate": [v.outcomes["click"].exposure_rate for v in report.variants],
            "click_p_value": click.p_value,
            "srm_p_value": report.sample_ratio.p_value,
            "srm_flagged": report.sample_ratio.flagged,
            "guardrails_breached": [g.name for g in report.guardrails if g.breached],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--exposures", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiq-bench-exp-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
