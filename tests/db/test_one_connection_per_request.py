"""A request never waits for a second connection of a pool while it holds one
(`db.row_reads.DriverRows.alongside`).

Under load, every request of a process holding a connection and waiting for another one
deadlocks the pool until its timeout fails them all: bench/http.py at 1M leads saw 26 cart
views answer 500 after 30 s, each holding the connection its principal was read on while it
waited for one to read its holds on. A failed login, counted in a side transaction while its
request held a connection, could do the same."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import Integer, bindparam, func, select, text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.app import create_app
from aiqleads.config import Settings
from aiqleads.db.engine import (
    create_engine,
    read_session_factory,
    session_factory,
    side_transaction,
)
from aiqleads.db.row_reads import DriverRows
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from tests.conftest import Backend
from tests.factories import agent, hold_leads, insert_leads, lead_row

PID = select(func.pg_backend_pid().label("pid"))
PROBE = select(func.current_setting("aiq.probe", True).label("probe"))


@pytest.fixture
async def one_connection(engine: AsyncEngine, settings: Settings) -> AsyncIterator[AsyncEngine]:
    """A pool of one connection on PostgreSQL that gives up waiting after a second."""
    if engine.dialect.driver != "asyncpg":
        pytest.skip("the driver path and its pool are PostgreSQL's")
    pool = create_engine(settings, pool_size=1, max_overflow=0, pool_timeout=1)
    yield pool
    await pool.dispose()


def reads(pool: AsyncEngine) -> DriverRows:
    return DriverRows(pool, read_session_factory(pool))


async def test_a_read_alongside_a_session_holding_the_only_connection_runs_on_it(
    one_connection: AsyncEngine,
) -> None:
    # Given a request's session holding the pool's one connection
    async with read_session_factory(one_connection)() as session:
        held = (await session.execute(PID)).scalar_one()
        # Then a read that waits for a connection of its own fails on the pool's timeout
        with pytest.raises(PoolTimeout):
            await reads(one_connection).one(PID, {})
        # But a read alongside the session runs at once, on the session's connection
        assert (await reads(one_connection).alongside(session).one(PID, {})).pid == held
        # And the session still reads on it afterwards
        assert (await session.execute(PID)).scalar_one() == held


async def test_a_read_alongside_a_transaction_sees_it(one_connection: AsyncEngine) -> None:
    # Given a session in a transaction that set something only it can see
    async with session_factory(one_connection)() as session:
        await session.execute(text("SELECT set_config('aiq.probe', 'mine', true)"))
        # Then a read alongside it runs in that transaction
        assert (await reads(one_connection).alongside(session).one(PROBE, {})).probe == "mine"
        await session.rollback()


async def test_a_read_alongside_a_session_without_a_connection_hands_its_own_back(
    one_connection: AsyncEngine,
) -> None:
    # Given a session that has not read anything yet
    async with read_session_factory(one_connection)() as session:
        # When a read alongside it runs
        first = (await reads(one_connection).alongside(session).one(PID, {})).pid
        # Then it took a connection of its own and gave it back: the session gets it next
        assert not session.in_transaction()
        assert (await session.execute(PID)).scalar_one() == first


async def test_a_read_alongside_cancelled_mid_statement_leaves_the_pool_sound(
    one_connection: AsyncEngine,
) -> None:
    # Given a session holding the one connection, and a read alongside it the server is slow
    # to answer
    slow = select(func.pg_sleep(bindparam("seconds", type_=Integer())).label("slept"))
    async with read_session_factory(one_connection)() as session:
        held = (await session.execute(PID)).scalar_one()
        started = asyncio.create_task(
            reads(one_connection).alongside(session).one(slow, {"seconds": 30})
        )
        await asyncio.sleep(0.3)
        # When the request is cancelled
        started.cancel()
        with pytest.raises(asyncio.CancelledError):
            await started
    # Then the session's end waits out the cancelled statement (the server stops it) and
    # hands the connection back sound: the next read gets an answer at once on it, rather
    # than the session failing on a connection closed under it
    assert (await reads(one_connection).one(PID, {})).pid == held


@pytest.fixture
async def small_pool_client(
    engine: AsyncEngine, backend: Backend, clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a pool of two connections per engine, reading every request's account
    (no principal cache): each request holds a connection before its reads by key."""
    if engine.dialect.driver != "asyncpg":
        pytest.skip("the driver path and its pool are PostgreSQL's")
    settings = backend.settings(
        db_pool_size=2, auth_cache_seconds=0, cache_namespace=f"aiq-test-{uuid.uuid4().hex}"
    )
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_many_requests_on_a_small_pool_all_get_answers(
    small_pool_client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given an agent holding a lead, and leads on the map
    client = small_pool_client
    now = clock.now()
    rows = [lead_row(settings, cipher, now=now) for _ in range(4)]
    await insert_leads(sessions, rows, now=now)
    _, headers = await agent(client, sessions, clock)
    await hold_leads(client, headers, [rows[0]["public_id"]])
    paths = [
        "/api/v1/cart",
        f"/api/v1/leads/{rows[1]['public_id']}",
        "/api/v1/leads?metro=seattle",
        "/api/v1/geo/heatmap?metro=seattle&resolution=7",
    ]
    # When many more requests than connections arrive at once, each reading its account in
    # its session before its reads by key
    answers = await asyncio.wait_for(
        asyncio.gather(*(client.get(p, headers=headers) for p in paths * 6)), timeout=20
    )
    # Then every one is answered, none after waiting out the pool
    assert [a.status_code for a in answers] == [200] * len(answers), [
        a.text[:200] for a in answers if a.status_code != 200
    ]


async def test_many_failed_logins_on_a_small_pool_are_all_answered(
    small_pool_client: httpx.AsyncClient,
) -> None:
    # When many more wrong passwords than connections arrive at once, each counted in a side
    # transaction after its hash is checked
    attempts = [
        small_pool_client.post(
            "/api/v1/auth/token", data={"username": f"nobody{i}@example.com", "password": "x"}
        )
        for i in range(12)
    ]
    answers = await asyncio.wait_for(asyncio.gather(*attempts), timeout=20)
    # Then each gets its refusal (or its wait), none a 500 after waiting out the pool
    assert {a.status_code for a in answers} <= {401, 429}, [a.text[:200] for a in answers]


async def test_a_side_transaction_is_refused_while_the_session_holds_a_connection(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await session.execute(text("SELECT 1"))
        with pytest.raises(RuntimeError, match="end the session's transaction"):
            async with side_transaction(session):
                pass
        await session.commit()
        async with side_transaction(session) as own:
            assert (await own.execute(text("SELECT 1"))).scalar_one() == 1
