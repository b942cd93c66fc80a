"""Training from the event log, hot reload in every process, rollback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.app import create_app
from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as event_log
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Account, Lead
from aiqleads.models.enums import EventKind
from aiqleads.recommend import repository, trainer
from aiqleads.recommend.ranker import load
from tests.conftest import Backend
from tests.factories import insert_leads, lead_row, login, make_account

ZIPS = {"98115": (47.68, -122.30), "98101": (47.61, -122.33), "98118": (47.54, -122.27)}


async def _world(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> list[Account]:
    """45 leads in three ZIPs over 30 days; 6 agents, each viewing, holding and buying in its
    own ZIP (and now and then viewing elsewhere), one event day after another."""
    now = clock.now()
    rng = np.random.default_rng(7)
    rows = []
    for z, (lat, lon) in ZIPS.items():
        for i in range(15):
            rows.append(
                lead_row(
                    settings,
                    cipher,
                    now=now,
                    zip_code=z,
                    latitude=lat + rng.uniform(-0.02, 0.02),
                    longitude=lon + rng.uniform(-0.02, 0.02),
                    asking_price_cents=int(rng.integers(300_000, 900_000)) * 100,
                    published_at=now - timedelta(days=30, hours=i),
                )
            )
    await insert_leads(sessions, rows, now=now)
    async with transaction(sessions) as session:
        found = await session.execute(select(Lead.id, Lead.zip_code))
        by_zip: dict[str, list[int]] = {}
        for lead_id, zip_code in found:
            by_zip.setdefault(str(zip_code), []).append(lead_id)
    agents = [await make_account(sessions, now=now) for _ in range(6)]
    events = []
    for n, account in enumerate(agents):
        home = list(ZIPS)[n % 3]
        for day in range(20):
            at = now - timedelta(days=25 - day, hours=n)
            picks = rng.choice(by_zip[home], size=3, replace=False)
            other = rng.choice(by_zip[list(ZIPS)[(n + 1) % 3]])
            for lead_id in [*picks, other]:
                events.append((account.id, EventKind.VIEW, int(lead_id), at))
            events.append((account.id, EventKind.HOLD, int(picks[0]), at + timedelta(minutes=5)))
    async with transaction(sessions) as session:
        await event_log.append(
            session,
            [
                event_log.event(kind, account_id=account_id, lead_id=lead_id, at=at)
                for account_id, kind, lead_id, at in events
            ],
        )
    return agents


async def _train(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
    folder: Path,
    version: str,
) -> dict[str, object]:
    now = clock.now()
    async with transaction(sessions) as session:
        return await trainer.train_from_log(
            session,
            since=now - timedelta(days=26),
            until=now,
            now=now,
            settings=settings.recommend,
            artifacts=folder,
            version=version,
        )


@asynccontextmanager
async def _worker(backend: Backend, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    """One API process of several: its own app, engine and registry, the shared database."""
    settings = backend.settings(recommend={"reload_check_seconds": 0})
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def _version(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    res = await client.get("/api/v1/recommendations", params={"limit": 5}, headers=headers)
    assert res.status_code == 200, res.text
    assert len(res.json()["items"]) == 5
    return res.headers["X-Recommender-Version"]


async def test_training_hot_reload_in_every_worker_and_rollback(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    backend: Backend,
    tmp_path: Path,
) -> None:
    # Given agents with a history, and a first model trained from the event log
    agents = await _world(sessions, settings, cipher, clock)
    first = await _train(sessions, settings, clock, tmp_path, "v1")
    assert first["serving"] is True
    assert (tmp_path / "v1" / "model.txt").is_file()
    assert load(tmp_path / "v1").meta.training_window is not None

    async with _worker(backend, clock) as a, _worker(backend, clock) as b:
        headers = await login(a, agents[0].email)
        # When two workers serve the agent, both use v1
        assert [await _version(a, headers), await _version(b, headers)] == ["v1", "v1"]

        # When v2 is trained and activated (no restart), both pick it up
        clock.advance(timedelta(minutes=1))
        await _train(sessions, settings, clock, tmp_path, "v2")
        assert [await _version(a, headers), await _version(b, headers)] == ["v2", "v2"]

        # When v2 is rolled back, both return to v1; rolled back again, to the cold start
        async with transaction(sessions) as session:
            assert await repository.rollback(session, now=clock.now()) == ("v2", "v1")
        assert [await _version(a, headers), await _version(b, headers)] == ["v1", "v1"]
        async with transaction(sessions) as session:
            assert await repository.rollback(session, now=clock.now()) == ("v1", None)
        assert await _version(a, headers) == "cold-start-1"

    # And the registry says so; every served item is recorded with its version (by the
    # workers' impression recorders, flushed at the latest when they stop)
    async with transaction(sessions) as session:
        rows = await repository.listed_models(session)
        served = await session.execute(
            select(repository.impressions.c.model_version, func.count()).group_by(
                repository.impressions.c.model_version
            )
        )
        by_version: dict[str, int] = {str(v): int(n) for v, n in served.all()}
    assert {r["version"]: r["status"] for r in rows} == {
        "v1": "rolled_back",
        "v2": "rolled_back",
    }
    assert by_version == {"v1": 20, "v2": 10, "cold-start-1": 5}


async def test_a_new_agent_is_ranked_by_the_cold_start_scorer_while_a_model_serves(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    backend: Backend,
    tmp_path: Path,
) -> None:
    await _world(sessions, settings, cipher, clock)
    await _train(sessions, settings, clock, tmp_path, "v1")
    newcomer = await make_account(sessions, now=clock.now())
    async with _worker(backend, clock) as a:
        headers = await login(a, newcomer.email)
        assert await _version(a, headers) == "cold-start-1"
