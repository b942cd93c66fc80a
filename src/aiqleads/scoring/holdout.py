"""The simulator's holdout (issue 10, item 7): the scoring pipeline trained on a seeded simulated
history and judged on a time-based split against the heuristic baseline, with a check that it
recovers the simulator's effects.

1. **Split by time.** Every simulated lead has a decision instant `t`
   (`simulator.Outcome.decision_at`). The leads decided before the cut, `start + train_share ×
   (last decision − start)`, train the model; the later ones are the holdout. The model learns
   from the past and is judged on the future, as it would be in use.
2. **Features as known before the decision.** Each lead's features are those the provider gives
   as of `feature_instant(t)`: 00:00 UTC of the day of `t − 1 h`, so nothing of the lead's own
   outcome is known yet (its hold comes 10 minutes before `t` at the earliest) while most of
   its recent views are (the 7 days before the snapshot overlap the 7 days before `t` by more
   than 6 days on average). The provider is called once per snapshot day, with that day's leads.
3. **Labels** from the event log (`simulator.labels`), as `aiqleads train scoring` takes them.
4. **Model**: `model.train` on the training leads (LightGBM, calibrated on out-of-fold
   predictions); its calibrated probabilities for the holdout.
5. **Baseline**: the rules-1 quality score (`leads.pricing.quality_score`: contact and property
   completeness and freshness, today's formula), computed from each lead's stored values as of
   its feature instant (`repository.rules_scores`), so that leads a model has scored since
   (they no longer store their rules-1 score) are judged too; `baseline_missing` counts leads
   not found. It is no probability: its AUC compares rankings; its log loss and ECE say how far
   it is from being one.
6. **Metrics**: AUC, log loss (nats) and expected calibration error (10 equal-width bins) of
   both on the same holdout leads (`evaluation.compare`), and a reliability PNG of both.
7. **Effects**: how the model's answer moves with each attribute the simulator gave an effect.
   An ordinary least-squares fit, over the holdout, of the booster's log-odds
   (`ScoringModel.predict_raw`, before the monotone calibration, whose flat steps would blur
   it) on [1, owner_phone, discount, recent_views] (the simulator's own values for each lead)
   gives one coefficient per effect, in the units of `simulator.EFFECTS` (log-odds per unit).
   Beside it, a logistic regression of the holdout's labels on the same attributes: what this
   sample's labels support (its noise). An effect counts as recovered when the model's
   coefficient has the true effect's sign and lies within `RECOVERED_RATIO` of its size. The
   model sees the attributes only through its features (an owner phone exactly; the discount
   through the price against the H3 neighbourhood median, not the ZIP's; the views through
   the counts at the snapshot), so a shrunken coefficient is expected and reported as a ratio.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth import service as auth
from aiqleads.kit.clock import as_utc
from aiqleads.leads.pricing import RULES_VERSION
from aiqleads.models.enums import Role, Tier
from aiqleads.scoring import evaluation, repository, simulator
from aiqleads.scoring.model import TrainConfig, train
from aiqleads.scoring.service import FeatureProvider

SNAPSHOT_LEAD = timedelta(hours=1)  # features are taken at least this long before the decision
RECOVERED_RATIO = (0.5, 1.5)  # model coefficient / true effect, for "recovered"
ATTRIBUTES = tuple(e.name for e in simulator.EFFECTS)


def feature_instant(decided: datetime) -> datetime:
    """The instant a lead decided at `decided` has its features taken: 00:00 UTC of the day of
    `decided − SNAPSHOT_LEAD`."""
    before = as_utc(decided) - SNAPSHOT_LEAD
    return datetime(before.year, before.month, before.day, tzinfo=UTC)


async def point_in_time(
    session: AsyncSession, provider: FeatureProvider, outcomes: Sequence[simulator.Outcome]
) -> tuple[tuple[str, ...], NDArray[np.float64]]:
    """The feature names and the matrix (n, k) of the outcomes' leads, row i as known at
    `feature_instant(outcomes[i].decision_at)`. Raises ValueError when the provider misses a
    lead or names its columns differently from one day to the next."""
    by_day: dict[datetime, list[int]] = defaultdict(list)
    for n, o in enumerate(outcomes):
        by_day[feature_instant(o.decision_at)].append(n)
    names: tuple[str, ...] | None = None
    X: NDArray[np.float64] | None = None
    for day in sorted(by_day):
        rows = by_day[day]
        ids = [outcomes[n].lead_id for n in rows]
        matrix = await provider(session, day, ids)
        if names is None:
            names = tuple(matrix.names)
            X = np.empty((len(outcomes), len(names)), dtype=np.float64)
        elif tuple(matrix.names) != names:
            raise ValueError(f"the feature provider's columns changed on {day:%Y-%m-%d}")
        index = {int(i): r for r, i in enumerate(matrix.lead_ids)}
        missing = [i for i in ids if i not in index]
        if missing:
            raise ValueError(f"the feature provider gave no row for leads {missing[:10]}")
        assert X is not None
        values = np.asarray(matrix.values, dtype=np.float64)
        X[rows] = values[[index[i] for i in ids]]
    if names is None or X is None:
        raise ValueError("no simulated lead to take features of")
    return names, X


@dataclass(frozen=True, slots=True)
class EffectCheck:
    """One effect of `simulator.EFFECTS` against what the model learned (log-odds per unit):
    `true` the simulator's, `model` the OLS coefficient of the model's holdout log-odds,
    `labels` the logistic regression of the holdout labels on the attributes, `ratio` model /
    true, `recovered` as the module doc says."""

    name: str
    true: float
    model: float
    labels: float
    ratio: float
    recovered: bool


def effects_recovered(
    y: NDArray[np.int64], model_log_odds: NDArray[np.float64], attributes: NDArray[np.float64]
) -> list[EffectCheck]:
    """Step 7 of the module doc. `y` (n,) 0/1, `model_log_odds` (n,), `attributes` (n, 3) in
    `ATTRIBUTES` order. Raises ValueError on other shapes, or labels of one class only."""
    n = len(y)
    if model_log_odds.shape != (n,) or attributes.shape != (n, len(ATTRIBUTES)):
        raise ValueError(
            f"y {y.shape}, log-odds {model_log_odds.shape}, attributes {attributes.shape}:"
            f" need (n,), (n,), (n, {len(ATTRIBUTES)})"
        )
    if n == 0 or y.min() == y.max():
        raise ValueError("the effects need holdout labels of both classes")
    # Imported here: scikit-learn is ~25 MB that a process serving only the catalog never needs.
    from sklearn.linear_model import LogisticRegression

    design = np.column_stack([np.ones(n), attributes])
    fitted = np.linalg.lstsq(design, model_log_odds, rcond=None)[0][1:]
    # Nearly unregularised: the sample's own estimate, not a shrunken one.
    labels = LogisticRegression(C=1e6, max_iter=2000).fit(attributes, y).coef_[0]
    low, high = RECOVERED_RATIO
    out = []
    for effect, got, from_labels in zip(simulator.EFFECTS, fitted, labels, strict=True):
        ratio = float(got) / effect.log_odds
        out.append(
            EffectCheck(
                name=effect.name,
                true=effect.log_odds,
                model=round(float(got), 4),
                labels=round(float(from_labels), 4),
                ratio=round(ratio, 4),
                recovered=low <= ratio <= high,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class HoldoutReport:
    """What `evaluate_simulation` found (see the module doc); `as_dict` is its JSON."""

    window: tuple[str, str]
    cut: str
    features: int
    train: int
    holdout: int
    holdout_positive_share: float
    model: dict[str, Any]
    baseline: dict[str, Any] | None
    baseline_version: str
    baseline_leads: int
    baseline_missing: int
    effects: list[EffectCheck]
    plot: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_by_time(
    outcomes: Sequence[simulator.Outcome], *, start: datetime, train_share: float
) -> tuple[datetime, NDArray[np.bool_]]:
    """The cut and a mask (n,), True for the leads decided before it (they train). Raises
    ValueError for a share outside (0, 1) or no outcome."""
    if not 0.0 < train_share < 1.0:
        raise ValueError(f"train_share {train_share}: must lie strictly between 0 and 1")
    if not outcomes:
        raise ValueError("no simulated lead to split")
    last = max(as_utc(o.decision_at) for o in outcomes)
    cut = start + (last - start) * train_share
    return cut, np.array([as_utc(o.decision_at) < cut for o in outcomes])


async def evaluate_simulation(
    session: AsyncSession,
    provider: FeatureProvider,
    simulation: simulator.Simulation,
    *,
    start: datetime,
    end: datetime,
    train_share: float = 0.5,
    config: TrainConfig | None = None,
    plot: Path | None = None,
) -> HoldoutReport:
    """Evaluate the scoring pipeline on a simulation already written to the log in `session`
    (see the module doc). Training runs in a worker thread. Raises ValueError when a side of
    the split is too small to train on or holds one class only, or the provider misses a
    lead."""
    outcomes = sorted(simulation.outcomes, key=lambda o: o.lead_id)
    cut, early = split_by_time(outcomes, start=start, train_share=train_share)
    ids = [o.lead_id for o in outcomes]
    found = await simulator.labels(session, since=start, until=end, lead_ids=ids)
    label_of = found.as_dict()
    y = np.array([label_of.get(i, -1) for i in ids], dtype=np.int64)
    names, X = await point_in_time(session, provider, outcomes)
    rules = await repository.rules_scores(
        session, ids, at={o.lead_id: feature_instant(o.decision_at) for o in outcomes}
    )
    known = y >= 0  # a censored label (none with the simulator's windows) is left out
    fit, held = early & known, ~early & known
    if held.sum() == 0 or y[held].min() == y[held].max():
        raise ValueError("the holdout needs leads of both classes: simulate more leads")
    model = await asyncio.to_thread(
        train, X[fit], y[fit], names, config=config or TrainConfig(), version="holdout"
    )
    p = model.predict(X[held])
    y_held = y[held]
    held_ids = [i for i, h in zip(ids, held, strict=True) if h]
    has_rule = np.array([i in rules for i in held_ids])
    baseline: dict[str, Any] | None = None
    if has_rule.sum() >= 2 and y_held[has_rule].min() != y_held[has_rule].max():
        b = np.array([rules[i] for i, h in zip(held_ids, has_rule, strict=True) if h])
        baseline = evaluation.compare(y_held[has_rule], p[has_rule], b)
        if plot is not None:
            evaluation.reliability_plot(
                {"model": (y_held, p), f"baseline {RULES_VERSION}": (y_held[has_rule], b)},
                plot,
                title="Simulator holdout: reliability",
            )
    elif plot is not None:
        evaluation.reliability_plot({"model": (y_held, p)}, plot, title="Simulator holdout")
    held_outcomes = [o for o, h in zip(outcomes, held, strict=True) if h]
    attributes = np.array(
        [[o.attributes()[a] for a in ATTRIBUTES] for o in held_outcomes], dtype=np.float64
    )
    effects = effects_recovered(y_held, evaluation.logit(model.predict_raw(X[held])), attributes)
    return HoldoutReport(
        window=(start.isoformat(), end.isoformat()),
        cut=cut.isoformat(),
        features=len(names),
        train=int(fit.sum()),
        holdout=int(held.sum()),
        holdout_positive_share=round(float(y_held.mean()), 4),
        model=evaluation.evaluate(y_held, p).as_dict(),
        baseline=baseline,
        baseline_version=RULES_VERSION,
        baseline_leads=int(has_rule.sum()),
        baseline_missing=int((~has_rule).sum()),
        effects=effects,
        plot=None if plot is None else str(plot),
    )


async def simulate_and_evaluate(
    session: AsyncSession,
    provider: FeatureProvider,
    *,
    now: datetime,
    agents: int = 36,
    days: int = 240,
    seed: int = 7,
    limit: int | None = None,
    train_share: float = 0.5,
    config: TrainConfig | None = None,
    plot: Path | None = None,
) -> HoldoutReport:
    """Simulate a history of the database's leads (the first `limit` in id order, all when
    None; backfilled: every lead on the market from the window's start) over the `days` before
    `now` with `agents` new agent accounts (tiers basic, basic, pro, pro, enterprise in turn),
    and evaluate it (`evaluate_simulation`). Everything is written in `session`'s transaction:
    the caller rolls it back (`aiqleads evaluate scoring` does) so the database keeps no trace.
    Raises ValueError as `simulator.plan` and `evaluate_simulation` do."""
    tiers = (Tier.BASIC, Tier.BASIC, Tier.PRO, Tier.PRO, Tier.ENTERPRISE)
    sim_agents = []
    for i in range(agents):
        account = await auth.create_account(
            session,
            email=f"holdout-agent-{i:02d}@example.com",
            password=f"holdout agent {i}: rolled back with the evaluation",
            role=Role.AGENT,
            tier=tiers[i % len(tiers)],
            now=now,
        )
        sim_agents.append(simulator.SimAgent(account.id, Tier(account.tier)))
    start = now - timedelta(days=days)
    simulation = await simulator.simulate(
        session, sim_agents, start=start, end=now, seed=seed, limit=limit, backfill=True
    )
    return await evaluate_simulation(
        session,
        provider,
        simulation,
        start=start,
        end=now,
        train_share=train_share,
        config=config,
        plot=plot,
    )
