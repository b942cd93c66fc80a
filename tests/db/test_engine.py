"""The engines keep bind parameters out of logs and error texts, hand out live
connections without pinging one used moments ago, and plan map boxes with their values while
key lookups may keep a generic plan."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from aiqleads.config import Settings
from aiqleads.db.engine import create_engine, generic_plan_engine
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import Account
from aiqleads.observability.logging import format_exception


async def test_an_integrity_error_does_not_carry_the_values(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    # Given an account row with an e-mail and a password hash
    row = {
        "public_id": uuid.uuid4(),
        "email": "secret.owner@example.com",
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$SECRETHASHVALUE",
        "role": "agent",
        "tier": "basic",
        "is_active": True,
        "token_version": 0,
        "created_at": clock.now(),
        "updated_at": clock.now(),
    }
    async with engine.begin() as conn:
        await conn.execute(insert(Account), [row])
    # When the same e-mail is inserted again
    with pytest.raises(IntegrityError) as caught:
        async with engine.begin() as conn:
            await conn.execute(insert(Account), [{**row, "public_id": uuid.uuid4()}])
    # Then the error's text holds no bind parameter (PostgreSQL's own message may quote the
    # key: "Key (email)=(…) already exists")
    text = str(caught.value)
    assert "SECRETHASHVALUE" not in text
    assert "hidden" in text
    # And a log of it holds neither value, nor the database's message, on either database
    logged = format_exception((type(caught.value), caught.value, caught.value.__traceback__))
    assert "secret.owner" not in logged
    assert "SECRETHASHVALUE" not in logged
    assert "IntegrityError" in logged and "withheld" in logged


async def _last_query(settings: Settings, pid: int) -> str:
    """What PostgreSQL's backend `pid` ran last (pg_stat_activity), seen from elsewhere."""
    other = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with other.connect() as conn:
            query = await conn.scalar(
                text("SELECT query FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
        return str(query)
    finally:
        await other.dispose()


@pytest.mark.parametrize(("idle_seconds", "pinged"), [(3600.0, False), (0.0, True)])
async def test_a_connection_back_in_the_pool_moments_ago_is_not_pinged(
    engine: AsyncEngine, settings: Settings, idle_seconds: float, pinged: bool
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the checkout ping is PostgreSQL's")
    # Given a pool of one connection, used once and returned (statements without a
    # transaction: nothing but the statement reaches the server)
    pool = create_engine(settings, pool_size=1, max_overflow=0, ping_idle_seconds=idle_seconds)
    own = pool.execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with own.connect() as conn:
            pid = int(await conn.scalar(text("SELECT pg_backend_pid()")))
        # When it is handed out again, within the idle time (or with no idle time allowed)
        async with own.connect() as conn:
            last = await _last_query(settings, pid)
            assert int(await conn.scalar(text("SELECT pg_backend_pid()"))) == pid
        # Then it was pinged only when the idle time allowed none
        assert (last == "SELECT 1") is pinged, last
    finally:
        await pool.dispose()


async def test_a_connection_closed_in_the_pool_is_replaced_even_when_just_used(
    engine: AsyncEngine, settings: Settings
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the checkout ping is PostgreSQL's")
    # Given a pool of one connection, just used and returned
    pool = create_engine(settings, pool_size=1, max_overflow=0, ping_idle_seconds=3600.0)
    try:
        async with pool.connect() as conn:
            pid = int(await conn.scalar(text("SELECT pg_backend_pid()")))
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
        # When the server ends its backend (as a restart does), and the socket's end is seen
        other = create_engine(settings, pool_size=1, max_overflow=0)
        try:
            async with other.connect() as admin:
                await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            await other.dispose()
        for _ in range(1000):  # a condition awaited, not a time: the loop reads the EOF
            if driver.is_closed():
                break
            await asyncio.sleep(0.01)
        assert driver.is_closed()
        # Then the next request gets a working connection, not an error
        async with pool.connect() as conn:
            assert int(await conn.scalar(text("SELECT pg_backend_pid()"))) != pid
    finally:
        await pool.dispose()


async def test_the_generic_plan_engine_lets_postgresql_keep_plans_and_the_main_one_does_not(
    engine: AsyncEngine, settings: Settings
) -> None:
    # Given the main engine and the one for statements found by key
    generic = generic_plan_engine(settings, engine)
    try:
        if engine.dialect.name != "postgresql":
            # (SQLite plans every statement anyway: the same engine serves both)
            assert generic is engine
            return
        main = create_engine(settings, pool_size=1, max_overflow=0)
        try:
            # When each connection is asked how it plans prepared statements
            async with main.connect() as conn:
                mode = await conn.scalar(text("SHOW plan_cache_mode"))
        finally:
            await main.dispose()
        async with generic.connect() as conn:
            kept = await conn.scalar(text("SHOW plan_cache_mode"))
        # Then map boxes are planned with their values, and key lookups keep a generic plan
        assert (mode, kept) == ("force_custom_plan", "force_generic_plan")
    finally:
        if generic is not engine:
            await generic.dispose()


async def test_a_pool_busier_than_its_size_reuses_its_connections(
    engine: AsyncEngine, settings: Settings
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's pool has no server connections to open")
    # Given a pool sized by the settings (3, and by default no overflow)
    sized = settings.model_copy(update={"db_pool_size": 3})
    assert sized.db_max_overflow == 0
    pool = create_engine(sized)
    pids: list[int] = []
    try:

        async def request() -> None:
            async with pool.connect() as conn:
                pid = await conn.scalar(text("SELECT pg_backend_pid() FROM pg_sleep(0.02)"))
                pids.append(int(pid))

        # When twice as many requests as connections arrive at once, three times over
        for _ in range(3):
            await asyncio.gather(*(request() for _ in range(6)))
        # Then all 18 ran on the same three server processes: the pool neither opened a
        # connection beyond its size nor closed one it had (each a PostgreSQL fork)
        assert len(pids) == 18
        assert len(set(pids)) == 3
    finally:
        await pool.dispose()
