"""`aiqleads evaluate recommender`: the learned ranker against the baselines, offline.

1. Simulated agents with hidden true preferences act on the real lead inventory for `days`
   days before `now` (`aiqleads.recommend.simulator`); what they stated is stored as their
   preferences, as `PUT /api/v1/me/preferences` would.
2. Their views, holds, purchases and returns are split by time: the last `test_days` are the
   test (`evaluation.split.time_split`).
3. Four recommenders are fitted on the training part and asked, for each test agent, for k
   leads it did not touch in training (`evaluation.runner.evaluate`): the learned LambdaRank
   model (`training.LearnedRecommender`, trained exactly as `aiqleads train recommender`
   trains, the cold-start scorer for agents with no training history), popularity, random,
   and nearest-in-territory (`training.NearestRecommender`). Relevant: the leads an agent
   viewed, held or bought in the test days.
4. The report: precision, recall, NDCG and hit rate at k and catalogue coverage per
   recommender, and the learned model's ratio to each baseline (how much it beats it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import RecommendSettings
from aiqleads.recommend import repository
from aiqleads.recommend.profile import HOLD, PURCHASE, VIEW, Preferences, stated
from aiqleads.recommend.trainer import interactions, lead_table
from aiqleads.recommend.training import LeadIndex, LearnedRecommender, NearestRecommender

LEARNED = "learned"
BASELINES = ("popularity", "random", "nearest")


def preferences_from_simulation(s: Mapping[str, Any]) -> Preferences:
    """A simulated agent's stated preferences (`simulator.STATED_KEYS`, None: not stated)."""
    center = None
    if s.get("latitude") is not None and s.get("longitude") is not None:
        center = (float(s["latitude"]), float(s["longitude"]))
    return stated(
        zip_codes=s.get("zip_codes") or (),
        center=center,
        radius_m=float(s["radius_m"]) if center is not None and s.get("radius_m") else None,
        price_min_cents=s.get("price_min_cents"),
        price_max_cents=s.get("price_max_cents"),
        kinds=s.get("kinds") or (),
        bedrooms_min=s.get("bedrooms_min"),
    )


async def store_preferences(
    session: AsyncSession, prefs: Mapping[int, Preferences], *, now: datetime
) -> None:
    """Save stated preferences as the agents' own (what serving reads)."""
    for account_id, p in prefs.items():
        await repository.save_preferences(
            session,
            account_id,
            {
                "zip_codes": sorted(p.zip_codes),
                "h3_cells": list(p.cells),
                "center_latitude": None if p.center is None else p.center[0],
                "center_longitude": None if p.center is None else p.center[1],
                "radius_m": p.radius_m,
                "price_min_cents": p.price_min_cents,
                "price_max_cents": p.price_max_cents,
                "kinds": sorted(p.kinds),
                "bedrooms_min": p.bedrooms_min,
                "bedrooms_max": p.bedrooms_max,
            },
            now=now,
        )


async def simulate(
    session: AsyncSession, *, agents: int, days: int, seed: int, now: datetime
) -> dict[int, Preferences]:
    """Simulated agents and their history (simulator), their stated preferences stored."""
    from aiqleads.recommend.simulator import simulate_agents

    sim = await simulate_agents(session, agents=agents, days=days, seed=seed, now=now)
    prefs = {a.account_id: preferences_from_simulation(a.stated) for a in sim.agents}
    await store_preferences(session, prefs, now=now)
    return prefs


async def evaluate_recommender(
    session: AsyncSession,
    *,
    prefs: Mapping[int, Preferences],
    days: int,
    test_days: float,
    now: datetime,
    settings: RecommendSettings,
    k: int = 10,
    seed: int = 0,
) -> dict[str, Any]:
    """Evaluate on the event log of the `days` before `now` (see the module docstring);
    returns the report as a dict. ValueError when the split leaves no test agent."""
    from aiqleads.recommend.evaluation.baselines import PopularityRecommender, RandomRecommender
    from aiqleads.recommend.evaluation.data import Interactions
    from aiqleads.recommend.evaluation.runner import evaluate
    from aiqleads.recommend.evaluation.split import time_split

    cutoff = now - timedelta(days=test_days)
    index = LeadIndex(await lead_table(session))
    found = await interactions(session, start=now - timedelta(days=days + 1), end=now)
    agents = set(prefs)
    mask = np.asarray([u in agents for u in found.user.tolist()], dtype=bool)
    inter = Interactions(found.user[mask], found.item[mask], found.kind[mask], found.at[mask])
    train, test = time_split(inter, cutoff.timestamp())
    on_sale = [int(i) for i in index.leads.ids.tolist()]
    common = {"now": cutoff.timestamp(), "pool": settings.candidate_pool}
    recommenders = {
        LEARNED: LearnedRecommender(index, prefs, seed=seed, **common),  # type: ignore[arg-type]
        "popularity": PopularityRecommender(),
        "random": RandomRecommender(on_sale, seed=seed),
        "nearest": NearestRecommender(index, prefs, **common),  # type: ignore[arg-type]
    }
    report = evaluate(
        recommenders,  # type: ignore[arg-type]
        train,
        test,
        k=k,
        catalogue_size=len(on_sale),
        relevant_kinds=(VIEW, HOLD, PURCHASE),
    )
    out: dict[str, Any] = report.to_dict()
    scores = out["scores"]
    out["split"] = {
        "cutoff": cutoff.isoformat(),
        "train_interactions": len(train),
        "test_interactions": len(test),
    }
    out["learned_vs"] = {
        name: {
            metric: _ratio(scores[LEARNED][metric], scores[name][metric])
            for metric in ("ndcg", "precision", "recall", "hit_rate")
        }
        for name in BASELINES
    }
    best = max(BASELINES, key=lambda b: scores[b]["ndcg"])
    out["best_baseline"] = best
    out["ndcg_ratio_to_best_baseline"] = _ratio(scores[LEARNED]["ndcg"], scores[best]["ndcg"])
    out["beats_every_baseline"] = all(
        scores[LEARNED]["ndcg"] > scores[b]["ndcg"] for b in BASELINES
    )
    return out


def _ratio(a: float, b: float) -> float | None:
    return None if b == 0 else round(a / b, 3)
