"""The simulator of agents with hidden preferences: deterministic, its behaviour following the
documented utility (its effects recovered from what it did), its stated preferences a partial
copy of the hidden ones, and its events written to the log of a small database."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as events
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.distance import EARTH_RADIUS_M
from aiqleads.models import Account, Lead, LeadEvent
from aiqleads.models.enums import Tier
from aiqleads.recommend import simulator
from aiqleads.recommend.evaluation.baselines import PopularityRecommender, RandomRecommender
from aiqleads.recommend.evaluation.data import Interactions, Kind
from aiqleads.recommend.evaluation.runner import evaluate
from aiqleads.recommend.evaluation.split import time_split
from aiqleads.recommend.simulator import HiddenPreference, SimLead
from tests.factories import insert_leads, lead_row

NOW = datetime(2026, 11, 30, tzinfo=UTC)
M_PER_DEG_LAT = math.pi * EARTH_RADIUS_M / 180


def synthetic_leads(n: int, seed: int) -> list[SimLead]:
    """Leads in 30 ZIPs on a 6 × 5 grid around Seattle; 30 % for sale by owner, the rest
    listed, all asking about $600,000 (lognormal), so that kind and price are not confounded;
    1 to 5 bedrooms; buckets A, B, C."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        z = int(rng.integers(30))
        fsbo = bool(rng.random() < 0.3)
        out.append(
            SimLead(
                id=i + 1,
                kind="fsbo" if fsbo else "for_sale",
                zip_code=f"981{z:02d}",
                asking_price_cents=int(60_000_000 * rng.lognormal(0, 0.4)),
                bedrooms=int(rng.integers(1, 6)),
                latitude=47.5 + (z % 6) * 0.03 + float(rng.normal(0, 0.008)),
                longitude=-122.4 + (z // 6) * 0.04 + float(rng.normal(0, 0.01)),
                score_bucket="ABC"[int(rng.integers(3))],
            )
        )
    return out


AGENTS = [(100 + i, simulator.TIERS[i % 5]) for i in range(40)]


def test_the_same_seed_gives_the_same_agents_and_events() -> None:
    leads = synthetic_leads(600, seed=1)
    first = simulator.plan(leads, AGENTS, days=20, seed=42, now=NOW)
    again = simulator.plan(leads, AGENTS, days=20, seed=42, now=NOW)
    other = simulator.plan(leads, AGENTS, days=20, seed=43, now=NOW)
    assert first.rows == again.rows
    assert (first.hidden, first.stated) == (again.hidden, again.stated)
    assert first.rows != other.rows
    # And every event is an action of one of the agents, in the window, in time order
    assert {r["kind"] for r in first.rows} == {"view", "hold", "release", "purchase", "return"}
    assert all(NOW - timedelta(days=20) <= r["at"] < NOW for r in first.rows)
    assert [r["at"] for r in first.rows] == sorted(r["at"] for r in first.rows)
    assert {r["account_id"] for r in first.rows} <= {a for a, _ in AGENTS}
    # And a lead is bought once at most
    bought = Counter(r["lead_id"] for r in first.rows if r["kind"] == "purchase")
    assert bought and max(bought.values()) == 1


def test_the_utility_is_the_documented_table() -> None:
    # Given an agent living within 2 km of a point, wanting sales of $400k-$600k with 2-4 beds
    pref = HiddenPreference(
        latitude=47.6,
        longitude=-122.3,
        radius_m=2_000.0,
        price_min_cents=40_000_000,
        price_max_cents=60_000_000,
        kinds=("for_sale",),
        bedrooms_min=2,
        bedrooms_max=4,
        activity=1.0,
    )
    north = 47.6 + 5_000 / M_PER_DEG_LAT  # 5 km due north: 3 km beyond the radius
    leads = [
        # a perfect match in bucket A: +1 price, +1.5 kind, +0.5 beds, +0.6 quality
        SimLead(1, "for_sale", "98101", 50_000_000, 3, 47.6, -122.3, "A"),
        # the same 3 km beyond the area in bucket B: -3 + 1 + 1.5 + 0.5 + 0.3
        SimLead(2, "for_sale", "98101", 50_000_000, 3, north, -122.3, "B"),
        # a rental 20 % above the range, bedrooms unknown, no bucket: -4 ln 1.2 - 1.5
        SimLead(3, "for_rent", "98101", 72_000_000, None, 47.6, -122.3, None),
        # far too cheap (the price term capped at -6), 6 beds, bucket C: -6 + 1.5 - 0.5
        SimLead(4, "for_sale", "98101", 100_000, 6, 47.6, -122.3, "C"),
    ]
    # Then each utility is the sum of its effects
    assert simulator.utility(pref, leads).tolist() == pytest.approx(
        [3.6, -3 + 1 + 1.5 + 0.5 + 0.3, -4 * math.log(1.2) - 1.5, -6 + 1.5 - 0.5]
    )
    # And the order of the leads given is kept
    assert simulator.utility(pref, leads[::-1]).tolist() == pytest.approx(
        simulator.utility(pref, leads).tolist()[::-1]
    )


def test_views_follow_the_utility_with_effects_of_the_documented_size() -> None:
    # Given a plan that records every lead shown
    leads = synthetic_leads(3_000, seed=2)
    agents = [(100 + i, simulator.TIERS[i % 5]) for i in range(120)]
    plan = simulator.plan(leads, agents, days=30, seed=7, now=NOW, record_exposures=True)
    shown = plan.exposures
    assert shown is not None and len(shown.viewed) > 20_000
    # When P(view) is fitted as a logistic function of the effects' units
    fit = LogisticRegression(C=1e6, max_iter=2_000).fit(shown.features, shown.viewed)
    # Then the intercept is the view shift and each coefficient the effect's size (the
    # price-outside effect only within 50 %: few leads shown are far off the range)
    assert fit.intercept_[0] == pytest.approx(simulator.VIEW_SHIFT, abs=0.5)
    for effect, coef in zip(simulator.EFFECTS, fit.coef_[0], strict=True):
        tolerance = 0.5 if effect.name == "price_outside" else 0.25
        assert coef == pytest.approx(effect.size, rel=tolerance), (effect.name, coef)


def test_the_stated_preference_is_a_partial_noisy_copy_of_the_hidden_one() -> None:
    leads = synthetic_leads(2_000, seed=3)
    lats = np.array([x.latitude for x in leads])
    lons = np.array([x.longitude for x in leads])
    plan = simulator.plan(leads, AGENTS, days=1, seed=5, now=NOW)
    facets: Counter[str] = Counter()
    for hidden, stated in zip(plan.hidden, plan.stated, strict=True):
        assert set(stated) == set(simulator.STATED_KEYS)
        # A territory is always stated: ZIPs of leads in the hidden area, or a radius near it
        if stated["zip_codes"]:
            away = simulator.distance_m(hidden.latitude, hidden.longitude, lats, lons)
            inside = {
                x.zip_code
                for x, d in zip(leads, away.tolist(), strict=True)
                if d <= hidden.radius_m
            }
            assert set(stated["zip_codes"]) <= inside
            facets["zips"] += 1
        else:
            assert stated["radius_m"] % 500 == 0
            assert abs(stated["radius_m"] - hidden.radius_m) <= 0.3 * hidden.radius_m + 250
            facets["radius"] += 1
        if stated["price_min_cents"] is not None:
            assert hidden.price_min_cents is not None and hidden.price_max_cents is not None
            assert 0.85 * hidden.price_min_cents - 1_000_000 <= stated["price_min_cents"]
            assert stated["price_max_cents"] <= 1.15 * hidden.price_max_cents + 1_000_000
            facets["price"] += 1
        if stated["kinds"] is not None:
            assert tuple(stated["kinds"]) == hidden.kinds
            facets["kinds"] += 1
    # And some agents leave each facet out
    assert 0 < facets["price"] < len(AGENTS) and 0 < facets["kinds"] < len(AGENTS)
    assert facets["zips"] and facets["radius"]


class Oracle:
    """Ranks every lead by an agent's true utility: what a recommender could at best learn."""

    def __init__(self, leads: list[SimLead], hidden: dict[int, HiddenPreference]) -> None:
        self.ids = np.array([x.id for x in leads])
        self.order = {
            a: np.argsort(-simulator.utility(h, leads), kind="stable") for a, h in hidden.items()
        }

    def fit(self, train: Interactions) -> None:
        """Knows the truth already."""

    def recommend(self, user: int, k: int, exclude: AbstractSet[int]) -> list[int]:
        ranked = (i for i in self.ids[self.order[user]].tolist() if i not in exclude)
        return list(itertools.islice(ranked, k))


def test_the_history_rewards_knowing_the_hidden_preferences() -> None:
    # Given 30 days of 100 agents on 2,000 leads, split 20 days / 10 days
    leads = synthetic_leads(2_000, seed=4)
    agents = [(100 + i, simulator.TIERS[i % 5]) for i in range(100)]
    plan = simulator.plan(leads, agents, days=30, seed=9, now=NOW)
    log = Interactions.from_events(
        (r["account_id"], r["lead_id"], r["kind"], r["at"]) for r in plan.rows
    )
    train, test = time_split(log, (NOW - timedelta(days=10)).timestamp())
    # When the oracle and the two baselines are evaluated on the holds and purchases
    hidden = {a: h for (a, _), h in zip(agents, plan.hidden, strict=True)}
    report = evaluate(
        {
            "oracle": Oracle(leads, hidden),
            "popularity": PopularityRecommender(),
            "random": RandomRecommender([x.id for x in leads], seed=1),
        },
        train,
        test,
        k=10,
        catalogue_size=len(leads),
        relevant_kinds=[Kind.HOLD, Kind.PURCHASE],
    )
    # Then knowing the truth beats both baselines several times over on NDCG@10: there is
    # something for a learned model to find
    assert report.users > 50
    assert report.ratio("ndcg", "oracle", "popularity") > 3
    assert report.ratio("ndcg", "oracle", "random") > 3


def test_bad_input_is_refused_with_a_reason() -> None:
    leads = synthetic_leads(10, seed=1)
    with pytest.raises(ValueError, match="no leads"):
        simulator.plan([], AGENTS, days=1, seed=1, now=NOW)
    with pytest.raises(ValueError, match="at least one agent"):
        simulator.plan(leads, [], days=1, seed=1, now=NOW)
    with pytest.raises(ValueError, match="days must be at least 1"):
        simulator.plan(leads, AGENTS, days=0, seed=1, now=NOW)


async def test_simulate_agents_writes_accounts_and_events_to_the_database(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher
) -> None:
    # Given 40 leads on the market in two ZIPs, a sold one and an unpublished one
    published = NOW - timedelta(days=40)
    rows = [
        lead_row(
            settings,
            cipher,
            now=published,
            published_at=published,
            zip_code="98101" if i % 2 else "98102",
            latitude=47.61 + 0.002 * (i % 10),
            longitude=-122.33 - 0.002 * (i // 10),
            asking_price_cents=40_000_000 + 1_000_000 * i,
            bedrooms=1 + i % 4,
        )
        for i in range(40)
    ]
    off_market = [
        lead_row(settings, cipher, now=published, published_at=published, status="sold"),
        lead_row(settings, cipher, now=published, published_at=NOW + timedelta(days=1)),
    ]
    await insert_leads(sessions, [*rows, *off_market], now=published)
    # When five agents are simulated for 30 days
    async with transaction(sessions) as session:
        sim = await simulator.simulate_agents(session, agents=5, days=30, seed=11, now=NOW)
    # Then five agent accounts exist that nobody can sign in to
    ids = [a.account_id for a in sim.agents]
    async with sessions() as session:
        made = (await session.scalars(select(Account).where(Account.id.in_(ids)))).all()
        logged = (await session.execute(select(LeadEvent).order_by(LeadEvent.id))).scalars().all()
    assert len(made) == 5 and {a.role for a in made} == {"agent"}
    assert {a.password_hash for a in made} == {simulator.NO_PASSWORD}
    assert [Tier(a.tier) for a in sorted(made, key=lambda a: a.id)] == list(simulator.TIERS)
    # And the event log holds exactly its events, on the leads on the market only
    assert sim.events == len(logged) > 0
    on_market = {r["public_id"] for r in rows}
    async with sessions() as session:
        found = await session.execute(select(Lead.id, Lead.public_id))
        market_ids = {lead_id for lead_id, public_id in found if public_id in on_market}
    assert {e.lead_id for e in logged} <= market_ids
    assert {e.account_id for e in logged} <= set(ids)
    assert all(
        e.data == {"simulated": True, "seed": 11, "simulator": "preferences"} for e in logged
    )
    # And the log reads back as interactions for the evaluator
    x = Interactions.from_events((e.account_id or 0, e.lead_id, e.kind, e.at) for e in logged)
    assert len(x) == sum(e.kind != "release" for e in logged)
    # And each agent carries its stated and hidden preference
    assert all(set(a.stated) == set(simulator.STATED_KEYS) for a in sim.agents)
    assert all(a.hidden["kinds"] == ["for_sale"] for a in sim.agents)
    # And a second run with the seed reuses the accounts and repeats the events
    async with transaction(sessions) as session:
        again = await simulator.simulate_agents(session, agents=5, days=30, seed=11, now=NOW)
        repeated = await events.since(
            session, start=NOW - timedelta(days=31), end=NOW, by="account"
        )
    assert [a.account_id for a in again.agents] == ids and again.events == sim.events
    assert len(repeated) == 2 * sim.events
