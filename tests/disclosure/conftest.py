"""Fixtures of the disclosure tests: one world per module (building it and asking the table's
questions is the expensive part), on each database the test command runs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.app import create_app
from aiqleads.config import Settings
from aiqleads.db import migrate
from aiqleads.db.databases import drop_database, recreate_database
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from tests.conftest import _POSTGRES_URL, T0, Backend
from tests.disclosure.world import ORIGINAL, TargetVersion, World, build_world
from tests.emptying import empty_tables


def fresh_settings(backend: Backend, **overrides: object) -> Settings:
    # Redis outlives databases and table truncations, and data versions restart from the same
    # numbers in every world: a namespace of its own keeps another world's answers out.
    return backend.settings(cache_namespace=f"aiq-disclosure-{uuid.uuid4().hex}", **overrides)


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the application on `settings`, its clock stopped at T0."""
    app = create_app(settings, clock=FrozenClock(T0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@asynccontextmanager
async def world_on(
    engine: AsyncEngine, settings: Settings, *, target: TargetVersion = ORIGINAL
) -> AsyncIterator[World]:
    """A world built in the (empty) database of `engine`, served on `settings`."""
    cipher = FieldCipher(settings.encryption_keys)
    async with serve(settings) as client:
        yield await build_world(client, session_factory(engine), settings, cipher, target=target)


@asynccontextmanager
async def another_database(backend: Backend, path: str) -> AsyncIterator[Settings]:
    """Settings of a second, migrated, empty database of the backend's kind."""
    if backend.name == "sqlite":
        yield fresh_settings(backend, database_url=f"sqlite+aiosqlite:///{path}")
        return
    assert _POSTGRES_URL is not None
    name = f"aiq_test_disclosure_{uuid.uuid4().hex[:8]}"
    url = await recreate_database(_POSTGRES_URL, name)
    try:
        yield fresh_settings(backend, database_url=url)
    finally:
        await drop_database(_POSTGRES_URL, name)


@asynccontextmanager
async def migrated(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    try:
        await migrate.upgrade(engine)
        yield engine
    finally:
        await engine.dispose()


async def analyze(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Gather the planner's statistics now. PostgreSQL's autovacuum would, at a moment of its
    choosing, and some answers' byte order follows the plan (see test_probes)."""
    async with sessions() as session:
        await session.execute(text("ANALYZE"))
        await session.commit()


@pytest.fixture(scope="module")
async def world(migrated_engine: AsyncEngine, backend: Backend) -> AsyncIterator[World]:
    """The world of `tests.disclosure.world`, shared by the tests of one module: they only read
    it, or restore what they change."""
    await empty_tables(migrated_engine)
    try:
        async with world_on(migrated_engine, fresh_settings(backend)) as w:
            yield w
    finally:
        await empty_tables(migrated_engine)
