"""The simulator's holdout: a time-based split, the rules-1 baseline, a reliability plot and the
simulator's effects as the model learned them, on a small seeded simulation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.scoring import holdout, simulator
from aiqleads.scoring.model import TrainConfig
from aiqleads.scoring.tasks import lead_features
from tests.factories import insert_leads, lead_row

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAYS = 75


def test_features_are_taken_at_the_start_of_the_day_an_hour_before_the_decision() -> None:
    # Given decisions at midday and at 00:30 UTC
    # Then the first takes its day's midnight, the second the day before's (an hour earlier)
    assert holdout.feature_instant(datetime(2026, 3, 5, 12, 0, tzinfo=UTC)) == datetime(
        2026, 3, 5, tzinfo=UTC
    )
    assert holdout.feature_instant(datetime(2026, 3, 5, 0, 30, tzinfo=UTC)) == datetime(
        2026, 3, 4, tzinfo=UTC
    )


def _outcome(lead_id: int, at: datetime) -> simulator.Outcome:
    return simulator.Outcome(lead_id, at, 1.0, 0.0, 0.0, 0.0, kept=False)


def test_the_split_trains_on_the_leads_decided_before_the_cut() -> None:
    # Given four leads decided on days 0, 10, 30 and 40 of a window
    start = datetime(2026, 1, 1, tzinfo=UTC)
    outcomes = [_outcome(i, start + timedelta(days=d)) for i, d in enumerate((0, 10, 30, 40))]
    # When split at half the decision period
    cut, early = holdout.split_by_time(outcomes, start=start, train_share=0.5)
    # Then the cut is day 20 and the first two train
    assert cut == start + timedelta(days=20)
    assert early.tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match="strictly between"):
        holdout.split_by_time(outcomes, start=start, train_share=1.0)


def test_effects_are_the_model_log_odds_fit_on_the_attributes() -> None:
    # Given log-odds that follow the simulator's table exactly, and labels drawn from them
    rng = np.random.default_rng(0)
    n = 4000
    attrs = np.column_stack(
        [rng.integers(0, 2, n), rng.uniform(0, 0.5, n), rng.poisson(1.5, n).clip(0, 6)]
    ).astype(np.float64)
    z = np.array([simulator.log_odds(*row) for row in attrs])
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int64)
    # When checked
    checks = {c.name: c for c in holdout.effects_recovered(y, z, attrs)}
    # Then every effect is recovered exactly (ratio 1), and the labels' own fit is near it
    for effect in simulator.EFFECTS:
        check = checks[effect.name]
        assert check.model == pytest.approx(effect.log_odds, abs=1e-6)
        assert check.ratio == pytest.approx(1.0, abs=1e-4) and check.recovered
        assert check.labels == pytest.approx(effect.log_odds, rel=0.35)
    # And half the size is not "recovered" below the ratio's floor
    halved = holdout.effects_recovered(y, 0.4 * z, attrs)
    assert not any(c.recovered for c in halved)
    with pytest.raises(ValueError, match="both classes"):
        holdout.effects_recovered(np.zeros(n, dtype=np.int64), z, attrs)


async def test_a_small_seeded_simulation_is_evaluated_against_the_rules(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    # Given 480 leads in 6 ZIPs, each ZIP's homes close together at prices around its own
    # level, two thirds with an owner phone (and a rules-1 score that is higher with one)
    rng = np.random.default_rng(4)
    published = NOW - timedelta(days=DAYS + 5)
    rows = []
    for n in range(480):
        z = n % 6
        phone = n % 3 != 0
        rows.append(
            lead_row(
                settings,
                cipher,
                now=published,
                published_at=published,
                zip_code=f"9810{z}",
                latitude=47.55 + 0.02 * z + rng.uniform(0, 0.004),
                longitude=-122.35 + rng.uniform(0, 0.004),
                asking_price_cents=int((400_000 + 60_000 * z) * rng.lognormal(0, 0.2)) * 100,
                score=0.62 if phone else 0.42,
                **({} if phone else {"owner_phone_enc": None, "owner_phone_hmac": None}),
            )
        )
    await insert_leads(sessions, rows, now=published)
    plot = tmp_path / "holdout.png"
    # When a history is simulated over 75 days and evaluated, in a transaction rolled back
    async with sessions() as session:
        try:
            report = await holdout.simulate_and_evaluate(
                session,
                lead_features,
                now=NOW,
                agents=5,
                days=DAYS,
                seed=3,
                config=TrainConfig(num_boost_round=80, num_threads=1, calibration_folds=3),
                plot=plot,
            )
        finally:
            await session.rollback()
    # Then the leads decided before the cut trained and the later ones were held out
    assert report.train + report.holdout == 480
    assert 150 < report.train < 330
    # And model and baseline are judged on the same holdout leads, all of which carry rules-1
    assert report.baseline is not None and report.baseline_missing == 0
    assert report.baseline_leads == report.holdout == report.baseline["model"]["n"]
    assert report.baseline["baseline"]["n"] == report.holdout
    for side in ("model", "baseline"):
        metrics = report.baseline[side]
        assert 0.0 <= metrics["ece"] <= 1.0 and metrics["log_loss"] > 0.0
    # The rules see the phone only; the model sees it and more (price, views)
    assert report.baseline["model"]["auc"] > report.baseline["baseline"]["auc"]
    # And the reliability plot of both is written
    assert plot.read_bytes().startswith(b"\x89PNG")
    # And the model's answer moves with an owner phone and with recent views as the simulator's
    # effects do (sign; sizes are reported, a sample this small pins them loosely)
    effects = {e.name: e for e in report.effects}
    assert set(effects) == {"owner_phone", "discount", "recent_views"}
    assert effects["owner_phone"].model > 0.3
    assert effects["recent_views"].model > 0.0
    # And nothing of the simulation stayed in the database
    async with sessions() as session:
        left = await simulator.labels(session, since=NOW - timedelta(days=DAYS), until=NOW)
    assert left.lead_ids.size == 0
