"""The demo's market history: what makes its scores, buckets and prices real on a laptop.

A fresh demo has leads and no marketplace history, so a model would have nothing to learn and
every lead would cost the same. This gives the demo a past, as `aiqleads demo` runs it once on
an empty database:

1. the bundled Zillow Research series for Seattle (`aiqleads.market.sample`);
2. a few dozen simulated agent accounts (tiers mixed; their passwords are random and never
   shown: nobody signs in as them) and the seeded simulator's history of views, holds,
   purchases and returns on the leads (`aiqleads.scoring.simulator`, effects of known size),
   in the `days` before now;
3. a scoring model trained on that history's labels and the lead features
   (`aiqleads.scoring.service.train_from_log`), registered and made active;
4. every lead scored, bucketed within its metro and priced (`aiqleads.scoring.rescore`).

Features for training are taken as known at the window's start (before any simulated event),
so the model learns from what a lead is (its contact, facts, price against its neighbourhood,
its market) and not from the outcome's own events.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.auth import repository as accounts
from aiqleads.auth import service as auth
from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.features.lead_market import LEAD_MARKET_FEATURES_VERSION
from aiqleads.market.sample import load_bundled
from aiqleads.models.enums import Role, Tier
from aiqleads.scoring import rescore, service, simulator
from aiqleads.scoring.model import TrainConfig
from aiqleads.scoring.tasks import lead_features

_TIERS = (Tier.BASIC, Tier.BASIC, Tier.PRO, Tier.PRO, Tier.ENTERPRISE)


@dataclass(frozen=True, slots=True)
class History:
    """What the demo's history made: series loaded, agents, events written, leads labelled,
    the model's version and its out-of-fold AUC, and the scoring run."""

    series_loaded: int
    agents: int
    events: int
    labelled: int
    model_version: str
    auc: float
    scored: rescore.Rescored


def agent_email(i: int) -> str:
    """The simulated agent number `i`'s address (example.com: reserved, never delivered)."""
    return f"sim-agent-{i:02d}@example.com"


async def _agents(session: AsyncSession, count: int, now: datetime) -> list[simulator.SimAgent]:
    out = []
    for i in range(count):
        tier = _TIERS[i % len(_TIERS)]
        account = await accounts.account_by_email(session, agent_email(i))
        if account is None:
            account = await auth.create_account(
                session,
                email=agent_email(i),
                password=secrets.token_urlsafe(24),
                role=Role.AGENT,
                tier=tier,
                now=now,
            )
        out.append(simulator.SimAgent(account.id, Tier(account.tier)))
    return out


async def make_history(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime,
    artifacts: Path,
    agents: int = 36,
    days: int = 180,
    seed: int = 2026,
) -> History:
    """Give the demo its past (see the module doc). Raises ValueError when there are too few
    leads for a model to learn from (model.train says why)."""
    start, end = now - timedelta(days=days), now
    async with transaction(sessions) as session:
        loaded = await load_bundled(session)
        sim_agents = await _agents(session, agents, now)
        simulation = await simulator.simulate(
            session, sim_agents, start=start, end=end, seed=seed, backfill=True
        )
    version = f"demo-{now:%Y%m%d%H%M%S}"
    trained = await service.train_from_log(
        sessions,
        lead_features,
        since=start,
        until=end,
        as_of=start,
        artifacts=artifacts,
        version=version,
        now=now,
        feature_set="lead_market",
        feature_version=LEAD_MARKET_FEATURES_VERSION,
        config=TrainConfig(num_threads=1),
    )
    scored = await rescore.rescore(sessions, lead_features, now=now, policy=settings.pricing)
    return History(
        series_loaded=sum(x.written for x in loaded.values()),
        agents=len(sim_agents),
        events=len(simulation.events),
        labelled=trained.labelled,
        model_version=version,
        auc=float(trained.model.meta.metrics["oof_calibrated"]["auc"]),
        scored=scored,
    )
