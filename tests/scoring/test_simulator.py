"""The behaviour simulator: deterministic, written into the event log, labelled from it, and
its effects recovered by the scoring model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as events
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead, LeadEvent
from aiqleads.models.enums import EventKind, Role, Tier
from aiqleads.scoring import evaluation, simulator
from aiqleads.scoring.model import TrainConfig, train
from aiqleads.scoring.repository import SimLead
from aiqleads.scoring.simulator import SimAgent
from tests.factories import insert_leads, lead_row, make_account

START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(days=120)
AGENTS = (SimAgent(1, Tier.BASIC), SimAgent(2, Tier.PRO), SimAgent(3, Tier.ENTERPRISE))


def synthetic_leads(n: int, seed: int) -> list[SimLead]:
    """Leads in 20 ZIPs, asking prices log-normal around a ZIP price, 60 % with a phone."""
    rng = np.random.default_rng(seed)
    zip_price = rng.uniform(300_000, 900_000, size=20)
    out = []
    for i in range(n):
        z = int(rng.integers(20))
        out.append(
            SimLead(
                id=i + 1,
                kind="for_sale",
                zip_code=f"981{z:02d}",
                asking_price_cents=int(zip_price[z] * rng.lognormal(0.0, 0.15)) * 100,
                has_owner_phone=bool(rng.random() < 0.6),
                published_at=START - timedelta(days=int(rng.integers(0, 30))),
            )
        )
    return out


def test_the_same_seed_gives_the_same_events() -> None:
    leads = synthetic_leads(300, seed=1)
    first = simulator.plan(leads, AGENTS, start=START, end=END, seed=42)
    again = simulator.plan(leads, AGENTS, start=START, end=END, seed=42)
    other = simulator.plan(leads, AGENTS, start=START, end=END, seed=43)
    assert first.events == again.events and first.outcomes == again.outcomes
    assert first.events != other.events
    kinds = {e["kind"] for e in first.events}
    assert kinds == {"view", "hold", "release", "purchase", "return"}
    assert all(START <= e["at"] < END for e in first.events)


def test_kept_sales_can_be_left_to_the_caller_with_every_other_event_unchanged() -> None:
    # Given the same leads, agents, window and seed
    leads = synthetic_leads(300, seed=1)
    full = simulator.plan(leads, AGENTS, start=START, end=END, seed=42)
    # When planned without the kept sales' own events
    bare = simulator.plan(leads, AGENTS, start=START, end=END, seed=42, sales_as_events=False)
    # Then the sales are the kept outcomes, bought by their agent at the decision instant
    kept = {o.lead_id: o.decision_at for o in full.outcomes if o.kept}
    assert bare.sales == full.sales and {s.lead_id: s.at for s in bare.sales} == kept
    assert [s.at for s in bare.sales] == sorted(s.at for s in bare.sales)
    # And the events are the full plan's less each sale's hold and purchase, nothing else
    sale_events = [
        e
        for e in full.events
        if e["lead_id"] in kept
        and (e["kind"], e["at"])
        in {("hold", kept[e["lead_id"]] - timedelta(minutes=10)), ("purchase", kept[e["lead_id"]])}
    ]
    assert len(sale_events) == 2 * len(kept)
    assert bare.events == [e for e in full.events if e not in sale_events]
    assert bare.outcomes == full.outcomes


def test_browsing_to_the_end_adds_only_views_after_every_decision_on_leads_still_for_sale() -> None:
    # Given the same leads, agents, window and seed
    leads = synthetic_leads(300, seed=1)
    plain = simulator.plan(leads, AGENTS, start=START, end=END, seed=42)
    # When planned with browsing to the end, twice
    browsed = simulator.plan(leads, AGENTS, start=START, end=END, seed=42, browse_to_end=True)
    again = simulator.plan(leads, AGENTS, start=START, end=END, seed=42, browse_to_end=True)
    # Then it is deterministic, and the outcomes and every other event are unchanged
    assert browsed.events == again.events
    assert browsed.outcomes == plain.outcomes and browsed.sales == plain.sales
    added = [e for e in browsed.events if e not in plain.events]
    assert len(browsed.events) == len(plain.events) + len(added)
    # And the added events are views after the last decision window, none of a kept sale, and
    # some in the window's last 7 days
    last_decision = END - timedelta(days=simulator.RETURN_DAYS)
    kept = {o.lead_id for o in plain.outcomes if o.kept}
    assert added and {e["kind"] for e in added} == {"view"}
    assert all(last_decision <= e["at"] < END for e in added)
    assert not any(e["lead_id"] in kept for e in added)
    returned = {e["lead_id"]: e["at"] for e in plain.events if e["kind"] == "return"}
    assert all(e["at"] >= returned[e["lead_id"]] for e in added if e["lead_id"] in returned)
    assert sum(e["at"] >= END - timedelta(days=7) for e in added) > 50


def test_labels_from_a_hand_event_log() -> None:
    # Given a window of 100 days and five leads
    since, until = START, START + timedelta(days=100)
    day = timedelta(days=1)
    log = [
        (1, "purchase", since + 10 * day),  # kept: no return
        (2, "purchase", since + 10 * day),  # returned on day 39, within 30 days
        (2, "return", since + 39 * day),
        (3, "purchase", since + 10 * day),  # returned on day 41, after 30 days: kept
        (3, "return", since + 41 * day),
        (4, "purchase", since + 80 * day),  # bought 20 days before the end: censored
        (6, "purchase", since - day),  # before the window: ignored, so lead 6 is a 0
    ]
    # When labelled
    labels = simulator.labels_from_events(log, [1, 2, 3, 4, 5, 6], since=since, until=until)
    # Then 1 and 3 are kept sales, 2 a returned one, 5 and 6 never bought, 4 left out
    assert labels.as_dict() == {1: 1, 2: 0, 3: 1, 5: 0, 6: 0}
    assert labels.censored == 1


def test_the_model_recovers_the_simulators_effects() -> None:
    # Given 8000 simulated leads and their labels from the event log
    leads = synthetic_leads(8000, seed=2)
    sim = simulator.plan(leads, AGENTS, start=START, end=END, seed=7)
    outcomes = [(e["lead_id"], e["kind"], e["at"]) for e in sim.events]
    labels = simulator.labels_from_events(
        outcomes, [o.lead_id for o in sim.outcomes], since=START, until=END
    )
    assert labels.censored == 0
    truth = simulator.outcomes_by_lead(sim)
    assert labels.as_dict() == {i: int(o.kept) for i, o in truth.items()}
    # And a feature vector of the attributes plus a column of pure noise
    names = ("owner_phone", "discount", "recent_views", "noise")
    noise = np.random.default_rng(3).normal(size=len(labels.lead_ids))
    X = np.column_stack(
        [
            [truth[int(i)].attributes()[n] for i in labels.lead_ids]
            for n in ("owner_phone", "discount", "recent_views")
        ]
        + [noise]
    )
    # When the scoring model is trained on them
    model = train(X, labels.y, names, config=TrainConfig(num_threads=1), version="sim")
    # Then a linear fit of its log-odds on the features gives each effect's sign and size
    # (within 35 %), and about nothing for the noise
    z = evaluation.logit(model.predict_raw(X))
    design = np.column_stack([np.ones(len(z)), X])
    coef = np.linalg.lstsq(design, z, rcond=None)[0]
    fitted = dict(zip(("intercept", *names), coef, strict=True))
    for effect in simulator.EFFECTS:
        assert abs(fitted[effect.name] - effect.log_odds) < 0.35 * effect.log_odds, fitted
    assert abs(fitted["noise"]) < 0.1, fitted
    # And the mean contribution of an owner phone, phone minus none, is about +1.2
    contrib = model.contributions(X)[:, 0]
    has = X[:, 0] == 1
    assert 0.8 < contrib[has].mean() - contrib[~has].mean() < 1.6


async def test_simulate_writes_its_events_and_labels_read_them_back(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given 30 leads published before the window, and three agents
    published = START - timedelta(days=5)
    rows = [lead_row(settings, cipher, now=published, published_at=published) for _ in range(30)]
    await insert_leads(sessions, rows, now=published)
    agents = [
        SimAgent((await make_account(sessions, now=published, tier=t)).id, t)
        for t in (Tier.BASIC, Tier.PRO, Tier.ENTERPRISE)
    ]
    await make_account(sessions, now=published, role=Role.ADMIN)
    # When the simulator runs over the window
    async with transaction(sessions) as session:
        sim = await simulator.simulate(session, agents, start=START, end=END, seed=5)
    # Then its events are in the log, and the labels read from the log are its outcomes
    async with sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(LeadEvent))
        assert stored == len(sim.events) > 0
        labels = await simulator.labels(session, since=START, until=END)
    assert len(sim.outcomes) == 30
    expected = {o.lead_id: int(o.kept) for o in sim.outcomes}
    # (leads with no event at all are not in the population read from the log)
    assert labels.as_dict() == {i: v for i, v in expected.items() if i in labels.as_dict()}
    assert sum(labels.y) == sum(expected.values())


async def test_labels_read_a_hand_written_log(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given two leads, both bought on day 3, the second returned a week later
    rows = [lead_row(settings, cipher, now=START, published_at=START) for _ in range(2)]
    await insert_leads(sessions, rows, now=START)
    buyer = await make_account(sessions, now=START)
    async with transaction(sessions) as session:
        lead_ids = sorted((await session.scalars(select(Lead.id))).all())
        at = START + timedelta(days=3)
        await events.append(
            session,
            [
                events.event(EventKind.PURCHASE, account_id=buyer.id, lead_id=i, at=at)
                for i in lead_ids
            ]
            + [
                events.event(
                    EventKind.RETURN,
                    account_id=buyer.id,
                    lead_id=lead_ids[1],
                    at=at + timedelta(days=7),
                )
            ],
        )
    # Then the first is a kept sale and the second not
    async with sessions() as session:
        labels = await simulator.labels(session, since=START, until=END)
    assert labels.as_dict() == {lead_ids[0]: 1, lead_ids[1]: 0}
