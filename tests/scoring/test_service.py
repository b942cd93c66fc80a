"""Training from the event log and scoring every lead, with a local feature provider."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import PricingPolicy, Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead
from aiqleads.models.enums import Tier
from aiqleads.scoring import service, simulator
from aiqleads.scoring.model import ArtifactError, TrainConfig
from aiqleads.scoring.rescore import rescore
from aiqleads.scoring.simulator import SimAgent
from tests.factories import insert_leads, lead_row, make_account
from tests.scoring import provider

START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(days=120)


async def _world(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher
) -> None:
    """240 leads (a third without an owner phone, scored lower by the rules) and a simulated
    history over the window."""
    published = START - timedelta(days=5)
    rows = [
        lead_row(
            settings,
            cipher,
            now=published,
            published_at=published,
            asking_price_cents=40_000_000 + 1_000_000 * (n % 20),
            score=0.4 if n % 3 == 0 else 0.6,  # the rules' score: lower without a phone
            **({"owner_phone_enc": None, "owner_phone_hmac": None} if n % 3 == 0 else {}),
        )
        for n in range(240)
    ]
    await insert_leads(sessions, rows, now=published)
    agents = [
        SimAgent((await make_account(sessions, now=published, tier=t)).id, t)
        for t in (Tier.PRO, Tier.ENTERPRISE)
    ]
    async with transaction(sessions) as session:
        await simulator.simulate(session, agents, start=START, end=END, seed=11)


async def test_train_from_the_log_then_score_every_lead(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    # Given leads with a simulated history
    await _world(sessions, settings, cipher)
    # When a model is trained from the log's labels and the provider's features
    trained = await service.train_from_log(
        sessions,
        provider.features,
        since=START,
        until=END,
        as_of=START,
        artifacts=tmp_path,
        version="lgbm-test",
        now=END,
        feature_version="1",
        config=TrainConfig(num_boost_round=50, num_threads=1, calibration_folds=3),
    )
    # Then it is saved, registered and active, and learned that a phone matters most
    # (the population: the leads with an event in the window; a few had none)
    assert 200 < trained.labelled <= 240 and trained.censored == 0
    assert (trained.path / "model.txt").is_file()
    async with sessions() as session:
        active = await service.active(session)
    assert active is not None and active.version == "lgbm-test"
    gain = trained.model.importance()
    assert gain["owner_phone"] > gain["bedrooms"]
    # And its metrics compare it with the rules' score on the same leads
    against = trained.model.meta.metrics["baseline"]
    assert against["baseline_version"] == "rules-1"
    assert against["baseline"]["auc"] > 0.5 and against["model"]["n"] == trained.labelled
    assert set(against["gain"]) == {"auc", "log_loss", "ece"}
    # When every lead is scored with it
    done = await rescore(sessions, provider.features, now=END, policy=PricingPolicy(), batch=100)
    # Then each lead has its calibrated score and the model's version
    assert (done.version, done.scored) == ("lgbm-test", 240)
    async with sessions() as session:
        stored = (
            await session.execute(
                select(
                    Lead.score,
                    Lead.model_version,
                    Lead.score_bucket,
                    Lead.price_cents,
                    Lead.price_factors,
                    Lead.score_reasons,
                )
            )
        ).all()
    assert {r.model_version for r in stored} == {"lgbm-test"}
    assert all(r.score is not None and 0.0 <= r.score <= 1.0 for r in stored)
    # And its bucket ranks it in its metro: about 20 % High, 50 % Medium, 30 % Low (ties in
    # the calibrated scores, which isotonic calibration makes, move a few across a cut)
    buckets = Counter(r.score_bucket for r in stored)
    assert set(buckets) == {"A", "B", "C"} and buckets["A"] >= 240 * 0.2
    # And its price follows the bucket's quality and is made of the stated factors
    for r in stored:
        f = r.price_factors
        assert f["cents"] == r.price_cents
        assert r.price_cents == max(500, round(1000 * f["quality"] * f["demand"] * f["market"]))
        assert f["quality"] == {"A": 1.8, "B": 1.0, "C": 0.6}[r.score_bucket]
    # (this provider's columns have no phrases: reasons are tested in test_reasons.py)
    assert all(r.score_reasons == [] for r in stored)


async def test_scoring_refuses_a_provider_with_other_features(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    tmp_path: Path,
) -> None:
    # Given no model yet: scoring says so
    with pytest.raises(LookupError, match="no active scoring model"):
        await rescore(sessions, provider.features, now=END, policy=PricingPolicy())
    # Given a model trained on the provider's features
    await _world(sessions, settings, cipher)
    await service.train_from_log(
        sessions,
        provider.features,
        since=START,
        until=END,
        as_of=START,
        artifacts=tmp_path,
        version="lgbm-a",
        now=END,
        config=TrainConfig(num_boost_round=20, num_threads=1, calibration_folds=3),
    )
    # When scoring with a provider whose features differ, it is refused with the names
    with pytest.raises(ArtifactError, match=r"lacks \['bathrooms'\], has extra \['bedrooms'\]"):
        await rescore(sessions, provider.other_features, now=END, policy=PricingPolicy())


def test_a_provider_is_named_module_colon_function() -> None:
    assert service.resolve_provider("tests.scoring.provider:features") is provider.features
    with pytest.raises(ValueError, match=r"expected package\.module:function"):
        service.resolve_provider("tests.scoring.provider")
    with pytest.raises(ValueError, match="not found"):
        service.resolve_provider("tests.scoring.provider:nothing")
