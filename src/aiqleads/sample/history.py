"""The demo's market history: what makes its scores, buckets and prices real on a laptop.

A fresh demo has leads and no marketplace history, so a model would have nothing to learn and
every lead would cost the same. This gives the demo a past, as `aiqleads demo` runs it once on
an empty database:

1. the bundled Zillow Research series for Seattle (`aiqleads.market.sample`);
2. a few dozen simulated agent accounts (tiers mixed; their passwords are random and never
   shown: nobody signs in as them) and the seeded simulator's history of views, holds,
   purchases and returns on the first `leads` leads (`aiqleads.scoring.simulator`, effects of
   known size), in the `days` before now, its agents browsing until now (`browse_to_end`), so
   the counts of the last 24 hours and 7 days, the demand factor of the price and the "viewed"
   reasons have something to show at now;
3. its kept sales made real: each simulated agent holds and buys its kept sales of each
   `PERIOD` through the cart and the checkout (`aiqleads.cart.service.hold`,
   `aiqleads.checkout.flow`, paid with the sandbox gateway whatever gateway is configured: no
   network, no money), so the leads are sold, the purchases, orders and ledger rows exist and
   the hold and purchase events are the ones those paths write; the market's penetration and
   an agent's competitors then have sales to show. One checkout per agent and period, at the
   period's last sale instant (a sale's recorded instant is up to `PERIOD` after the
   simulator's, never later than the window's last decision, so no label is censored): a
   checkout per sale would cost about 5 transactions each. Returned sales stay events only;
4. a scoring model trained on that history's labels and the lead features
   (`aiqleads.scoring.service.train_from_log`), registered and made active;
5. every lead scored, bucketed within its metro and priced (`aiqleads.scoring.rescore`).

Features for training are taken as known at the window's start (before any simulated event),
so the model learns from what a lead is (its contact, facts, price against its neighbourhood,
its market) and not from the outcome's own events.

Only the first `leads` leads (in id order: the King County sales file's order, spread over the
county) get a past: about 60 % of them end in a kept sale (every demo lead has an owner
phone), and buying that share of all 21k leads would sell most of the catalogue and take
minutes.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.auth import repository as accounts
from aiqleads.auth import service as auth
from aiqleads.cart import service as cart
from aiqleads.checkout import flow
from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.features.lead_market import LEAD_MARKET_FEATURES_VERSION
from aiqleads.kit.clock import FrozenClock
from aiqleads.leads import repository as leads_repository
from aiqleads.leads.visibility import Viewer
from aiqleads.market.sample import load_bundled
from aiqleads.models.enums import Role, Tier
from aiqleads.notices import InProcessNotices
from aiqleads.payments.gateways.sandbox import SandboxGateway
from aiqleads.scoring import rescore, service, simulator
from aiqleads.scoring.model import TrainConfig
from aiqleads.scoring.tasks import lead_features

_TIERS = (Tier.BASIC, Tier.BASIC, Tier.PRO, Tier.PRO, Tier.ENTERPRISE)
PERIOD = timedelta(days=60)  # a simulated agent checks out once per period
HOLD_LEAD = timedelta(minutes=10)  # its holds are taken this long before the checkout


@dataclass(frozen=True, slots=True)
class History:
    """What the demo's history made: series loaded, agents, simulated events written, leads
    bought through the checkout and its orders, leads labelled, the model's version and its
    out-of-fold AUC, and the scoring run."""

    series_loaded: int
    agents: int
    events: int
    purchases: int
    orders: int
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


@dataclass(frozen=True, slots=True)
class Bought:
    leads: int
    orders: int


async def buy_sales(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    agents: Sequence[simulator.SimAgent],
    sales: Sequence[simulator.Sale],
    *,
    start: datetime,
) -> Bought:
    """Make the simulated kept sales real (step 3 of the module doc): per agent and `PERIOD`
    from `start`, hold the period's leads `HOLD_LEAD` before its last sale instant and check
    them out at that instant, in chunks of the tier's bulk and cart limits, in time order.
    Deterministic: the same sales give the same orders (idempotency keys name agent, period
    and chunk). A lead the hold refuses (no longer available) is skipped. Returns the leads
    bought and the orders paid."""
    tiers = {a.account_id: Tier(a.tier) for a in agents}
    groups: dict[tuple[int, int], list[simulator.Sale]] = defaultdict(list)
    for sale in sales:
        groups[(sale.account_id, (sale.at - start) // PERIOD)].append(sale)
    clock = FrozenClock(start)
    gateway = SandboxGateway(
        sessions,
        webhook_secret=settings.payments.sandbox_webhook_secret.get_secret_value(),
        clock=clock,
    )
    checkout = flow.Checkout(sessions=sessions, gateway=gateway, clock=clock)
    notices = InProcessNotices()  # nobody listens while the demo is prepared
    bought = orders = 0
    ordered = sorted(groups.items(), key=lambda g: (max(x.at for x in g[1]), g[0]))
    for (account_id, period), group in ordered:
        at = max(x.at for x in group)
        policy = settings.tiers[tiers[account_id].value]
        size = min(policy.bulk_limit, policy.cart_limit)
        lead_ids = sorted(x.lead_id for x in group)
        for chunk_no, first in enumerate(range(0, len(lead_ids), size)):
            chunk = lead_ids[first : first + size]
            # The simulated past lies before the sample's publication instant (a backfill), so
            # these agents' viewer has no priority window.
            viewer = Viewer(
                account_id, False, tiers[account_id], None, policy.discount_percent, at - HOLD_LEAD
            )
            async with transaction(sessions) as session:
                public = await leads_repository.public_ids(session, chunk)
                answer = await cart.hold(
                    session,
                    viewer,
                    policy=policy,
                    custom_limit=None,
                    lead_ids=[public[i] for i in chunk],
                    all_or_nothing=False,
                    notices=notices,
                )
            if not answer.held:
                continue
            clock.set(at)
            order = await flow.open_order(
                checkout,
                account_id=account_id,
                idempotency_key=f"demo-sim-{account_id}-{period}-{chunk_no}",
                payment_token=None,
            )
            await flow.pay(checkout, order)
            bought += answer.held
            orders += 1
    return Bought(bought, orders)


async def make_history(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime,
    artifacts: Path,
    agents: int = 36,
    days: int = 180,
    seed: int = 2026,
    leads: int | None = 1000,
) -> History:
    """Give the demo its past (see the module doc). Raises ValueError when there are too few
    leads for a model to learn from (model.train says why)."""
    start, end = now - timedelta(days=days), now
    async with transaction(sessions) as session:
        loaded = await load_bundled(session)
        sim_agents = await _agents(session, agents, now)
        simulation = await simulator.simulate(
            session,
            sim_agents,
            start=start,
            end=end,
            seed=seed,
            limit=leads,
            backfill=True,
            sales_as_events=False,
            browse_to_end=True,
        )
    bought = await buy_sales(sessions, settings, sim_agents, simulation.sales, start=start)
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
        # Platt: a smooth calibration of a small sample, so scores do not tie in the steps an
        # isotonic fit of about 1,000 leads makes (ties no longer empty a bucket, they are
        # ranked by raw margin, but distinct scores are what a buyer should see).
        config=TrainConfig(num_threads=1, calibration="platt"),
    )
    scored = await rescore.rescore(sessions, lead_features, now=now, policy=settings.pricing)
    return History(
        series_loaded=sum(x.written for x in loaded.values()),
        agents=len(sim_agents),
        events=len(simulation.events),
        purchases=bought.leads,
        orders=bought.orders,
        labelled=trained.labelled,
        model_version=version,
        auc=float(trained.model.meta.metrics["oof_calibrated"]["auc"]),
        scored=scored,
    )
