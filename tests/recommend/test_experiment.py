"""An A/B experiment on recommendations: each agent's list is ranked by its variant's
recommender version and logged as an exposure; a variant naming no registered version is
refused when the experiment is created."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.config import ExperimentSettings, Settings
from aiqleads.db.engine import transaction
from aiqleads.errors import InvalidInput
from aiqleads.experiments import service as experiments
from aiqleads.experiments.assignment import Variant, assign
from aiqleads.experiments.schemas import ExperimentIn
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import ExperimentExposure
from aiqleads.recommend import trainer
from tests.conftest import Backend
from tests.factories import login
from tests.recommend.test_deployment import _train, _version, _worker, _world

VARIANTS: list[dict[str, Any]] = [
    {"name": "control", "weight": 1, "config": {}},
    {"name": "v2", "weight": 1, "config": {"recommender": "v2"}},
]


async def test_each_agent_is_served_its_variants_recommender_and_exposed_once_per_list(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    backend: Backend,
    tmp_path: Path,
) -> None:
    # Given v1 serving, v2 registered but not serving, and an experiment v1 (control) vs v2
    agents = await _world(sessions, settings, cipher, clock)
    await _train(sessions, settings, clock, tmp_path, "v1")
    async with transaction(sessions) as session:
        await trainer.train_from_log(
            session,
            since=clock.now() - timedelta(days=26),
            until=clock.now(),
            now=clock.now(),
            settings=settings.recommend,
            artifacts=tmp_path,
            version="v2",
            activate=False,
        )
        given = ExperimentIn.model_validate({"name": "ranker-ab", "variants": VARIANTS})
        await experiments.create(session, given, now=clock.now(), settings=ExperimentSettings())
        await experiments.start(session, "ranker-ab", now=clock.now())

    # When every agent asks for its recommendations, through one API process
    async with _worker(backend, clock) as api:
        served = {}
        for agent in agents:
            served[agent.id] = await _version(api, await login(api, agent.email))

    # Then each got the version of the variant its id hashes to, both variants being served
    variants = [Variant(str(v["name"]), float(v["weight"]), dict(v["config"])) for v in VARIANTS]
    expected = {a.id: assign("ranker-ab", variants, a.id).name for a in agents}
    assert served == {a: ("v2" if expected[a] == "v2" else "v1") for a in served}
    assert set(expected.values()) == {"control", "v2"}
    # And each list was logged once as an exposure of the agent's variant (flushed at shutdown)
    async with sessions() as session:
        rows = (
            await session.execute(select(ExperimentExposure.account_id, ExperimentExposure.variant))
        ).all()
    assert sorted(rows) == sorted(expected.items())


async def test_a_variant_naming_an_unregistered_recommender_is_refused(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given no recommender registered, an experiment whose treatment names a version
    given = ExperimentIn.model_validate(
        {
            "name": "typo",
            "variants": [VARIANTS[0], {**VARIANTS[1], "config": {"recommender": "v9"}}],
        }
    )
    # Then creating it is refused, naming the field; the cold-start scorer is always there
    async with transaction(sessions) as session:
        with pytest.raises(InvalidInput, match=r"variants\.1\.config\.recommender"):
            await experiments.create(session, given, now=clock.now(), settings=ExperimentSettings())
        cold = ExperimentIn.model_validate(
            {
                "name": "cold",
                "variants": [
                    VARIANTS[0],
                    {**VARIANTS[1], "config": {"recommender": "cold-start-1"}},
                ],
            }
        )
        assert (
            await experiments.create(session, cold, now=clock.now(), settings=ExperimentSettings())
        ).name == "cold"
