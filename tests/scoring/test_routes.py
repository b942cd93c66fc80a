"""The model registry: registered models, the active one, and the admins' endpoint."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.scoring import service
from aiqleads.scoring.model import TrainConfig, train
from tests.factories import admin, agent
from tests.scoring.test_model import NAMES, synthetic

URL = "/api/v1/admin/scoring/models"


async def test_admins_see_the_registered_models_and_the_active_one(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    # Given two models trained a day apart, each registered as the active one in turn
    X, y = synthetic(400, seed=7)
    config = TrainConfig(num_boost_round=20, num_threads=1, calibration_folds=3)
    for n in (1, 2):
        model = train(
            X,
            y,
            NAMES,
            config=config,
            version=f"m-{n}",
            feature_set="test",
            feature_version="1",
            trained_at=clock.now(),
            training_window=(clock.now() - timedelta(days=90), clock.now()),
        )
        async with transaction(sessions) as session:
            await service.register(
                session, model, model.save(tmp_path / model.version), now=clock.now(), activate=True
            )
        clock.advance(timedelta(days=1))
    # When an admin lists them
    headers = await admin(client, sessions, clock)
    res = await client.get(URL, headers=headers)
    # Then both are there, newest first, only the newest active, with metrics and importance
    assert res.status_code == 200, res.text
    body = res.json()
    assert [(m["version"], m["is_active"]) for m in body] == [("m-2", True), ("m-1", False)]
    assert body[0]["feature_names"] == list(NAMES)
    assert body[0]["metrics"]["oof_calibrated"]["auc"] > 0.6
    assert set(body[0]["importance"]) == set(NAMES)
    assert body[0]["window_start"] is not None
    # And /metrics exports each model's importance as shares of its gain
    metrics = (await client.get("/metrics")).text
    assert 'aiq_scoring_feature_importance_ratio{feature="a",model_version="m-2"}' in metrics
    # And a version is registered once only
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            await service.register(session, model, tmp_path, now=clock.now(), activate=False)


async def test_agents_may_not_see_the_models(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock)
    assert (await client.get(URL, headers=headers)).status_code == 403
    assert (await client.get(URL)).status_code == 401
