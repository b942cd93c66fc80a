"""Test fixtures: every database test runs against SQLite and, when the test command started
it, PostgreSQL/PostGIS (AIQ_TEST_POSTGRES_URL). Each test starts from empty tables.

Real data: tests read the copies in tests/fixtures and the sample bundled in the package; the few
that need ../shared/data ask the `shared_path` fixture (see tests/shared_data.py), are marked
`shared_data`, and the run ends with one line counting those skipped for want of it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.app import create_app
from aiqleads.auth import passwords
from aiqleads.config import Environment, Settings, get_settings
from aiqleads.db import migrate
from aiqleads.db.databases import drop_database, recreate_database
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher, generate_key
from aiqleads.notices import InProcessNotices
from aiqleads.worker.context import TaskContext, http_client
from tests import shared_data
from tests.emptying import empty_tables

TEST_ENCRYPTION_KEYS = f"{generate_key('t2')},{generate_key('t1')}"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# Under pytest-xdist each worker gets a Redis database of its own (gw0 → 1, gw1 → 2, …), so the
# rate-limit counts, cache keys and broker queues of tests running at once never meet. Set
# before any test module reads the URL.
if (_worker := os.environ.get("PYTEST_XDIST_WORKER")) and os.environ.get("AIQ_TEST_REDIS_URL"):
    _base = os.environ["AIQ_TEST_REDIS_URL"].rpartition("/")[0]
    os.environ["AIQ_TEST_REDIS_URL"] = f"{_base}/{int(_worker.removeprefix('gw')) + 1}"
# The suite signs in thousands of times: passwords are hashed at argon2-cffi's cheapest cost
# (Settings allow it only with AIQ_ENV=test), in this process and in the servers and commands
# the tests start. Tests about hashing itself set the cost they need.
TEST_HASHING = {"AIQ_ENV": "test", "AIQ_LOGIN__HASH_COST": "cheapest"}
passwords.configure_hasher("cheapest")
_POSTGRES_URL = os.environ.get("AIQ_TEST_POSTGRES_URL")
_REDIS_URL = os.environ.get("AIQ_TEST_REDIS_URL")
if os.environ.get("AIQ_TEST_REQUIRE_SERVICES") == "1" and not (_POSTGRES_URL and _REDIS_URL):
    raise RuntimeError("AIQ_TEST_REQUIRE_SERVICES=1 but the PostgreSQL/Redis URLs are not set")

BACKENDS = ["sqlite"] + (["postgres"] if _POSTGRES_URL else [])


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str
    redis_url: str | None

    def settings(self, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "env": Environment.TEST,
            "database_url": self.database_url,
            "redis_url": self.redis_url,
            "secret_key": TEST_SECRET,
            "encryption_keys": TEST_ENCRYPTION_KEYS,
            "log_json": False,
            # No background dispatcher in the test app: tests run tasks themselves, on their
            # clock (tests/worker start one where they need it).
            "worker": {"start_in_app": False},
            # Off unless a test is about it (tests/ratelimit): a test that signs up and logs in
            # many accounts from one address would otherwise meet the per-address limit.
            "rate_limit": {"enabled": False},
        }
        values.update(overrides)
        if values["env"] is Environment.TEST and "login" not in overrides:
            values["login"] = {"hash_cost": "cheapest"}  # see TEST_HASHING
        return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session", params=BACKENDS)
async def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        yield Backend("sqlite", f"sqlite+aiosqlite:///{path}", None)
        return
    assert _POSTGRES_URL is not None
    name = f"aiq_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield Backend("postgres", await recreate_database(_POSTGRES_URL, name), _REDIS_URL)
    # A developer's own server keeps no database per run (a pool some test left open would
    # hold it: forced).
    await drop_database(_POSTGRES_URL, name, force=True)


@pytest.fixture(scope="session")
async def migrated_engine(backend: Backend) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(backend.settings())
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def engine(migrated_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    await empty_tables(migrated_engine)
    yield migrated_engine
    await empty_tables(migrated_engine)


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def settings(backend: Backend) -> Settings:
    # Tables are emptied between tests, so data versions (in cache keys) start again at the
    # same numbers: a fresh cache namespace per test keeps an earlier test's cached catalog
    # pages and geo answers (Redis outlives a test) from matching.
    return backend.settings(cache_namespace=f"aiq-test-{uuid.uuid4().hex}")


@pytest.fixture
def cipher(settings: Settings) -> FieldCipher:
    return FieldCipher(settings.encryption_keys)


@pytest.fixture
async def app(
    engine: AsyncEngine, settings: Settings, clock: FrozenClock
) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def cli(
    backend: Backend, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    """The `aiqleads` command run in this process (click's CliRunner) on the test database, as
    an operator runs it: settings from AIQ_ variables. A module's own `cli` fixture may ask for
    this one and set more variables (read when a command first calls `get_settings`)."""
    monkeypatch.setenv("AIQ_DATABASE_URL", backend.database_url)
    monkeypatch.setenv("AIQ_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("AIQ_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEYS)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
async def task_ctx(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    cipher: FieldCipher,
) -> AsyncIterator[TaskContext]:
    """What a background task receives, on the test database and clock, with in-process
    notices (subscribe to `task_ctx.notices` to see them)."""
    http = http_client(settings)
    yield TaskContext(
        settings=settings,
        sessions=sessions,
        clock=clock,
        cipher=cipher,
        notices=InProcessNotices(),
        http=http,
    )
    await http.aclose()


@pytest.fixture(scope="session")
def shared_path() -> shared_data.SharedPath:
    """shared_path("contacts", "x.csv"): a path under the shared data folder, or the test is
    skipped naming the path it looked for."""
    return shared_data.shared_path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that reaches ../shared/data, through any fixture, is marked `shared_data`, so
    `-m "not shared_data"` selects exactly the tests a fresh clone can run."""
    for item in items:
        if "shared_path" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared_data)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    count = sum(1 for report in skipped if shared_data.is_shared_data_skip(report))
    terminalreporter.write_line(shared_data.summary_line(count))
