"""Assignment for a surface, exposures through the recorder, and the report's statistics on
a hand-computed example stored in the database."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import ExperimentSettings, Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as events
from aiqleads.experiments import repository, service
from aiqleads.experiments.assignment import Variant, assign
from aiqleads.experiments.recorder import ExposureRecorder
from aiqleads.experiments.schemas import ExperimentIn
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import ExperimentExposure, Lead
from aiqleads.models.enums import EventKind
from tests.experiments.accounts import agent_ids
from tests.factories import insert_leads, lead_row, make_account

SETTINGS = ExperimentSettings()
SURFACE = "recommendations"


def _experiment(name: str = "rec-model", **overrides: Any) -> ExperimentIn:
    body: dict[str, Any] = {
        "name": name,
        "variants": [
            {"name": "control", "weight": 1},
            {"name": "model", "weight": 1, "config": {"recommender": "cold-start-1"}},
        ],
        "salt": "s-1",
    }
    return ExperimentIn.model_validate({**body, **overrides})


async def test_a_running_experiment_assigns_by_the_hash_and_a_stopped_one_does_not(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a draft experiment on the recommendations surface
    async with transaction(sessions) as session:
        await service.create(session, _experiment(), now=clock.now(), settings=SETTINGS)
        # Then nobody is assigned while it is a draft
        assert (
            await service.assignment_for(session, surface=SURFACE, agent_id=7, now=clock.now())
            is None
        )
        # When it starts
        await service.start(session, "rec-model", now=clock.now())
        found = [
            await service.assignment_for(session, surface=SURFACE, agent_id=i, now=clock.now())
            for i in range(50)
        ]
    # Then every agent gets the variant of the documented hash, with that variant's config
    expected = [
        assign("s-1", [Variant("control", 1), Variant("model", 1)], i).name for i in range(50)
    ]
    assert [a.variant if a else None for a in found] == expected
    model = next(a for a in found if a and a.variant == "model")
    assert (model.experiment, model.config) == ("rec-model", {"recommender": "cold-start-1"})
    # And once stopped, nobody is
    async with transaction(sessions) as session:
        await service.stop(session, "rec-model", now=clock.now())
        assert (
            await service.assignment_for(session, surface=SURFACE, agent_id=7, now=clock.now())
            is None
        )


async def test_exposures_reach_the_table_through_the_recorder(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a running experiment and an agent assigned in it
    agent = await make_account(sessions, now=clock.now())
    async with transaction(sessions) as session:
        await service.create(session, _experiment(), now=clock.now(), settings=SETTINGS)
        await service.start(session, "rec-model", now=clock.now())
        assignment = await service.assignment_for(
            session, surface=SURFACE, agent_id=agent.id, now=clock.now()
        )
    assert assignment is not None
    recorder = ExposureRecorder(sessions, interval=3600, batch=1000)
    # When three lists are served to it through the recorder
    async with transaction(sessions) as session:
        for n in range(3):
            await service.record_exposure(
                session,
                assignment,
                agent.id,
                [n, n + 1],
                clock.now(),
                latency_seconds=0.004,
                recorder=recorder,
            )
        # Then the request's own transaction wrote nothing
        assert await session.scalar(select(func.count()).select_from(ExperimentExposure)) == 0
    # And the recorder's flush writes them all, one row per list
    assert await recorder.flush() == 3
    async with sessions() as session:
        rows = (await session.scalars(select(ExperimentExposure))).all()
    assert [(r.variant, r.account_id, r.lead_ids, r.latency_ms) for r in rows] == [
        (assignment.variant, agent.id, [n, n + 1], 4.0) for n in range(3)
    ]


@pytest.fixture
async def hand_example(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> str:
    """The stored example: 10 agents per variant, each served two leads at T0 (its own and a
    neighbour's). Control: 2 buy their own lead (one after viewing it), latency 10 ms; a
    third views a lead 8 days later (outside the week's window), a fourth views a lead it
    was never served. Model: 6 buy their own lead, one returns it, latency 20 ms; another
    viewed a lead before it was served."""
    t0 = clock.now()
    rows = [lead_row(settings, cipher, now=t0) for _ in range(21)]
    await insert_leads(sessions, rows)
    async with sessions() as session:
        ids = dict((await session.execute(select(Lead.public_id, Lead.id))).all())
    leads = [ids[r["public_id"]] for r in rows]
    agents = await agent_ids(sessions, 20, now=t0)
    async with transaction(sessions) as session:
        experiment = await service.create(session, _experiment("hand"), now=t0, settings=SETTINGS)
        await service.start(session, "hand", now=t0)
        logged: list[dict[str, Any]] = []
        for i, agent_id in enumerate(agents):
            variant = "control" if i < 10 else "model"
            assignment = service.Assignment(experiment.id, "hand", variant)
            latency = 0.010 if variant == "control" else 0.020
            await service.record_exposure(
                session, assignment, agent_id, [leads[i], leads[i + 1]], t0, latency_seconds=latency
            )

        def at(kind: EventKind, agent: int, lead: int, after: timedelta) -> None:
            logged.append(
                events.event(kind, account_id=agents[agent], lead_id=leads[lead], at=t0 + after)
            )

        hour = timedelta(hours=1)
        at(EventKind.VIEW, 0, 0, hour)
        at(EventKind.PURCHASE, 0, 0, 2 * hour)
        at(EventKind.PURCHASE, 1, 1, 2 * hour)
        at(EventKind.VIEW, 2, 2, timedelta(days=8))
        at(EventKind.VIEW, 3, 20, hour)
        for i in range(10, 16):
            at(EventKind.PURCHASE, i, i, 3 * hour)
        at(EventKind.RETURN, 10, 10, timedelta(days=3))
        at(EventKind.VIEW, 16, 16, -hour)
        await events.append(session, logged)
    clock.advance(timedelta(days=10))
    return "hand"


async def test_the_report_matches_the_hand_computed_example(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, hand_example: str
) -> None:
    # When the report is made ten days later
    async with sessions() as session:
        report = await service.report(session, hand_example, now=clock.now(), settings=SETTINGS)
    control, model = report.variants
    # Then each variant has its 10 agents, 10 lists and 20 leads served
    assert [(v.name, v.agents, v.exposures, v.leads_served) for v in report.variants] == [
        ("control", 10, 10, 20),
        ("model", 10, 10, 20),
    ]
    # And the outcomes counted are those inside the window on served leads only
    assert (control.outcomes["click"].agents, control.outcomes["purchase"].agents) == (1, 2)
    assert (model.outcomes["click"].agents, model.outcomes["purchase"].agents) == (0, 6)
    assert (control.return_rate, model.returned, model.purchases) == (0.0, 1, 6)
    # And the purchase comparison is the hand-computed one (tests/experiments/test_stats.py):
    # 2/10 against 6/10: difference 0.4, 95 % CI [0.00801, 0.79199], z 1.82574, p 0.067889
    purchase = next(c for c in report.comparisons if c.metric == "purchase")
    assert purchase.difference == pytest.approx(0.4)
    assert purchase.ci_low == pytest.approx(0.0080072, abs=1e-6)
    assert purchase.ci_high == pytest.approx(0.7919928, abs=1e-6)
    assert purchase.z == pytest.approx(1.8257419, abs=1e-6)
    assert purchase.p_value == pytest.approx(0.0678892, abs=1e-6)
    assert not purchase.significant
    # And with no events before the start, CUPED's covariate is flat: it changes nothing
    assert purchase.cuped is not None
    assert (purchase.cuped.theta, purchase.cuped.variance_reduction) == (0.0, 0.0)
    assert purchase.cuped.difference == pytest.approx(0.4)
    # And per list: one list per agent, so the per-list rates are the per-agent ones (2/10
    # and 6/10); N never varies, so the delta method's variance is s²_Y / k: (0.16 × 10/9) / 10
    # and (0.24 × 10/9) / 10, z = 0.4 / sqrt(0.4 / 9) = 1.897367
    assert purchase.per_list is not None
    assert (purchase.per_list.control_rate, purchase.per_list.variant_rate) == (0.2, 0.6)
    assert purchase.per_list.z == pytest.approx(0.4 / math.sqrt((0.16 + 0.24) / 9), abs=1e-9)
    # And the clicks: 1/10 against 0/10 (pooled p 0.05: z = -0.1 / sqrt(0.0095) = -1.02598)
    click = next(c for c in report.comparisons if c.metric == "click")
    assert click.z == pytest.approx(-1.0259784, abs=1e-6)
    # And 10 against 10 agents at 50/50 is no sample-ratio mismatch
    assert (report.sample_ratio.chi2, report.sample_ratio.flagged) == (0.0, False)
    # And the latency guardrail is breached (p95 20 ms > 10 ms × 1.1), the returns one not
    # (0/2 against 1/6: p 0.54)
    guards = {g.name: g for g in report.guardrails}
    assert guards["latency_p95"].value == pytest.approx(20.0)
    assert guards["latency_p95"].limit == pytest.approx(11.0)
    assert guards["latency_p95"].breached
    assert not guards["return_rate"].breached
    assert guards["return_rate"].p_value == pytest.approx(0.5371, abs=1e-3)
    # And the report says its groups are small
    assert any("fewer than 100 agents" in w for w in report.warnings)


async def test_a_report_flags_a_sample_ratio_mismatch(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a 50/50 experiment whose exposures reached 30 agents of one variant and 5 of the
    # other (as when one variant's lists fail to log): chi2 = 2 × 12.5² / 17.5 = 17.857,
    # p = 2.4e-5 < 0.001
    agents = await agent_ids(sessions, 35, now=clock.now())
    async with transaction(sessions) as session:
        row = await service.create(
            session, _experiment("skewed"), now=clock.now(), settings=SETTINGS
        )
        await service.start(session, "skewed", now=clock.now())
        for i, agent_id in enumerate(agents):
            variant = "control" if i < 30 else "model"
            await service.record_exposure(
                session, service.Assignment(row.id, "skewed", variant), agent_id, [1], clock.now()
            )
    # When the report is made
    async with sessions() as session:
        report = await service.report(session, "skewed", now=clock.now(), settings=SETTINGS)
    # Then the mismatch is flagged and said in words
    assert report.sample_ratio.observed == [30, 5]
    assert report.sample_ratio.chi2 == pytest.approx(17.857142857)
    assert report.sample_ratio.flagged
    assert any("sample-ratio mismatch" in w for w in report.warnings)


async def test_the_database_lets_one_experiment_run_per_surface(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given one experiment running on the recommendations surface
    values = {
        "surface": SURFACE,
        "salt": "s",
        "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}],
        "window_hours": 24,
        "created_at": clock.now(),
    }
    async with transaction(sessions) as session:
        await repository.add(session, {**values, "name": "first", "status": "running"})
        # And others that are not running beside it
        await repository.add(session, {**values, "name": "draft", "status": "draft"})
        await repository.add(session, {**values, "name": "old", "status": "stopped"})
    # When a second one is written as running on it, by a path that skipped the service's
    # check (two admins starting two experiments at once)
    # Then the partial unique index refuses it
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            await repository.add(session, {**values, "name": "second", "status": "running"})


async def test_cuped_reads_each_agents_events_before_the_start(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given 3 agents per variant exposed to one lead each; before the start, the agents who
    # will buy bought often (3 purchases each, 10 days before), the others never; one more
    # purchase 40 days before, outside the 28 days read
    t0 = clock.now()
    rows = [lead_row(settings, cipher, now=t0) for _ in range(6)]
    await insert_leads(sessions, rows)
    async with sessions() as session:
        leads = list((await session.scalars(select(Lead.id).order_by(Lead.id))).all())
    agents = await agent_ids(sessions, 6, now=t0)
    buyers = {agents[0], agents[3], agents[4]}
    async with transaction(sessions) as session:
        row = await service.create(session, _experiment("cuped"), now=t0, settings=SETTINGS)
        await service.start(session, "cuped", now=t0)
        logged = []
        for i, agent_id in enumerate(agents):
            variant = "control" if i < 3 else "model"
            await service.record_exposure(
                session, service.Assignment(row.id, "cuped", variant), agent_id, [leads[i]], t0
            )
            if agent_id in buyers:
                at = t0 + timedelta(hours=1)
                logged.append(
                    events.event(EventKind.PURCHASE, account_id=agent_id, lead_id=leads[i], at=at)
                )
                for _ in range(3):
                    logged.append(
                        events.event(
                            EventKind.PURCHASE,
                            account_id=agent_id,
                            lead_id=leads[i],
                            at=t0 - timedelta(days=10),
                        )
                    )
        logged.append(
            events.event(
                EventKind.PURCHASE,
                account_id=agents[1],
                lead_id=leads[1],
                at=t0 - timedelta(days=40),
            )
        )
        await events.append(session, logged)
    # When the report is made
    clock.advance(timedelta(days=8))
    async with sessions() as session:
        report = await service.report(session, "cuped", now=clock.now(), settings=SETTINGS)
    # Then the purchase comparison's covariate predicts the outcome exactly (x = 3y, the
    # 40-day-old purchase left out): theta is 1/3, every adjusted outcome is the same, and the
    # variant's 2/3 against the control's 1/3 is explained by its agents' activity before
    # the start: the adjusted difference is 0, with no variance left
    purchase = next(c for c in report.comparisons if c.metric == "purchase")
    assert purchase.difference == pytest.approx(1 / 3)
    assert purchase.cuped is not None
    assert purchase.cuped.theta == pytest.approx(1 / 3)
    assert purchase.cuped.difference == pytest.approx(0.0, abs=1e-12)
    assert purchase.cuped.variance_reduction == pytest.approx(1.0)
    assert purchase.cuped.before_days == 28


async def test_a_process_keeps_the_running_experiment_for_its_ttl_unless_told_to_forget(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a process's view of the running experiments, kept 5 s, that read "none running"
    running = service.RunningExperiments(5)
    async with transaction(sessions) as session:
        await service.create(session, _experiment(), now=clock.now(), settings=SETTINGS)
        assert await running.on(session, SURFACE, clock.now()) is None

    async def assigned() -> str | None:
        async with sessions() as session:
            found = await service.assignment_for(
                session, surface=SURFACE, agent_id=7, now=clock.now(), running=running
            )
        return None if found is None else found.variant

    # When another process starts the experiment
    async with transaction(sessions) as session:
        await service.start(session, "rec-model", now=clock.now())
    # Then this one still assigns nobody within the 5 s, and the agent's variant after them
    clock.advance(timedelta(seconds=4.9))
    assert await assigned() is None
    clock.advance(timedelta(seconds=0.2))
    expected = assign("s-1", [Variant("control", 1), Variant("model", 1)], 7).name
    assert await assigned() == expected
    # And a stop made by this process (which forgets what it holds) is seen at once
    async with transaction(sessions) as session:
        await service.stop(session, "rec-model", now=clock.now())
    running.forget()
    assert await assigned() is None
    # And a clock set back before the read reads again
    async with transaction(sessions) as session:
        await service.create(session, _experiment("rec-2"), now=clock.now(), settings=SETTINGS)
        await service.start(session, "rec-2", now=clock.now())
    clock.advance(timedelta(seconds=-1))
    assert await assigned() is not None
    with pytest.raises(ValueError, match="at least 0"):
        service.RunningExperiments(-1)
