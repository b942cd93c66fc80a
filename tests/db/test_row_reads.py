"""Reads by key on the driver (`db.row_reads.DriverRows`) give what a session gives, on both
databases (a cache key's inputs, a lead's preview row, an agent's holds), and leave the pool
sound whatever happens to a statement."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy import Integer, bindparam, column, func, literal, select, table, text
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.auth.principal_cache import AccountFacts
from aiqleads.auth.repository import principal_columns
from aiqleads.cart.repository import live_holds
from aiqleads.config import Settings
from aiqleads.db.base import UTCDateTime
from aiqleads.db.engine import create_engine, read_session_factory, session_factory
from aiqleads.db.row_reads import AnySelect, DriverRows, SessionRows
from aiqleads.geo.repository.cache_inputs import key_inputs
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads.present import PREVIEW_COLUMNS
from aiqleads.leads.repository import preview_by_public_id
from aiqleads.observability.logging import format_exception
from tests.factories import agent, hold_leads, insert_leads, lead_row, make_account, record_purchase

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TYPED = select(
    bindparam("at", type_=UTCDateTime()).label("at"),
    bindparam("n", type_=Integer()).label("n"),
    literal("fixed").label("word"),
)


def reads(engine: AsyncEngine) -> DriverRows:
    return DriverRows(engine, read_session_factory(engine))


async def test_values_are_converted_by_their_types_as_in_a_session(engine: AsyncEngine) -> None:
    # Given a statement with typed parameters, a literal, and a UTC instant given in another zone
    at = T + timedelta(microseconds=7)
    params = {"at": at.astimezone(timezone(timedelta(hours=-8))), "n": 41}
    # When it is read on the driver and in a session
    on_driver = await reads(engine).one(TYPED, params)
    async with read_session_factory(engine)() as session:
        in_session = await SessionRows(session).one(TYPED, params)
    # Then both give the same values: an aware UTC instant, an int, the literal
    assert tuple(on_driver) == tuple(in_session) == (at, 41, "fixed")
    assert (on_driver.at, on_driver.n, on_driver.word) == (at, 41, "fixed")
    assert on_driver[0].utcoffset() == timedelta(0)


async def test_a_naive_instant_is_refused_as_in_a_session(engine: AsyncEngine) -> None:
    # (a session wraps the type's ValueError in a StatementError)
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        await reads(engine).one(TYPED, {"at": datetime(2026, 3, 1), "n": 1})


async def test_a_missing_parameter_is_named(engine: AsyncEngine) -> None:
    if engine.dialect.driver != "asyncpg":
        pytest.skip("the driver path is asyncpg's; in a session SQLAlchemy names it itself")
    with pytest.raises(KeyError, match=r"^'n'$"):
        await reads(engine).one(TYPED, {"at": T})


async def test_anything_but_one_row_is_an_error(engine: AsyncEngine) -> None:
    numbers: AnySelect = select(column("n")).select_from(
        select(literal(1).label("n")).union_all(select(literal(2).label("n"))).subquery()
    )
    with pytest.raises(MultipleResultsFound):
        await reads(engine).one(numbers, {})
    with pytest.raises(NoResultFound):
        await reads(engine).one(numbers.where(column("n") > 5), {})


async def test_expanding_parameters_are_refused_on_the_driver(engine: AsyncEngine) -> None:
    if engine.dialect.driver != "asyncpg":
        pytest.skip("the driver path is asyncpg's")
    versions = table("data_versions", column("scope"), column("version"))
    listed = select(func.count().label("n")).where(
        versions.c.scope.in_(bindparam("scopes", expanding=True))
    )
    with pytest.raises(ValueError, match="expanding"):
        await reads(engine).one(listed, {"scopes": ["a", "b"]})


async def test_cache_key_inputs_are_the_same_on_the_driver_and_in_a_session(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    # Given leads offered, published at different times, and one held whose hold has lapsed
    now = clock.now()
    cipher = FieldCipher(settings.encryption_keys)
    rows = [
        lead_row(settings, cipher, now=now, published_at=now - timedelta(hours=h))
        for h in (1, 5, 30)
    ]
    rows.append(lead_row(settings, cipher, now=now, status="held"))
    await insert_leads(sessions, rows, now=now)
    later = now + timedelta(days=1)  # past the hold's end
    # When the key inputs are read both ways, with and without a tier's window
    for scopes in (["seattle"], ["seattle", "austin", "elsewhere"]):
        for cutoff in (None, now - timedelta(hours=4), now - timedelta(days=30)):
            on_driver = await key_inputs(reads(engine), scopes, cutoff=cutoff, now=later)
            async with sessions() as session:
                in_session = await key_inputs(
                    SessionRows(session), scopes, cutoff=cutoff, now=later
                )
            # Then they agree, and hold what was written
            assert on_driver == in_session
    found = await key_inputs(reads(engine), ["seattle"], cutoff=now - timedelta(hours=4), now=later)
    assert found.versions["seattle"] > 0
    assert found.edge == now - timedelta(hours=5)
    assert found.lapsed is not None and found.lapsed <= later


@pytest.fixture
async def one_connection(engine: AsyncEngine, settings: Settings) -> AsyncIterator[AsyncEngine]:
    """A pool of one connection on PostgreSQL (the driver path is asyncpg's). A connection
    back in the pool moments ago is handed out again unpinged (db.engine.PING_IDLE_SECONDS):
    what replaces a broken one is its closed socket."""
    if engine.dialect.driver != "asyncpg":
        pytest.skip("the driver path is asyncpg's")
    pool = create_engine(settings, pool_size=1, max_overflow=0, ping_idle_seconds=3600.0)
    yield pool
    await pool.dispose()


async def _backend_pid(pool: AsyncEngine) -> int:
    return int((await reads(pool).one(select(func.pg_backend_pid().label("pid")), {})).pid)


async def test_a_failed_statement_leaves_the_pool_sound(one_connection: AsyncEngine) -> None:
    # Given a pool of one connection
    pool = one_connection
    pid = await _backend_pid(pool)
    # When a statement fails on the server
    failing = select((literal(1) / bindparam("zero", type_=Integer())).label("q"))
    with pytest.raises(DBAPIError) as refused:
        await reads(pool).one(failing, {"zero": 0})
    # Then it is SQLAlchemy's error, as in a session, its message withheld from logs
    assert "division by zero" in str(refused.value.orig)
    assert "division by zero" not in format_exception(
        (type(refused.value), refused.value, refused.value.__traceback__)
    )
    # And the connection, outside any transaction and sound, serves the next read
    assert await _backend_pid(pool) == pid
    assert tuple(await reads(pool).one(TYPED, {"at": T, "n": 1})) == (T, 1, "fixed")


async def test_a_read_cancelled_mid_statement_leaves_the_pool_sound(
    one_connection: AsyncEngine, settings: Settings
) -> None:
    # Given a pool of one connection, and a read the server takes a while over
    pool = one_connection
    pid = await _backend_pid(pool)
    slow = select(func.pg_sleep(bindparam("seconds", type_=Integer())).label("slept"))
    started = asyncio.create_task(reads(pool).one(slow, {"seconds": 30}))
    # When the request waiting for it is cancelled (a client gone, a server stopping)
    await _once_running(started, settings, "pg_sleep")
    started.cancel()
    with pytest.raises(asyncio.CancelledError):
        await started
    # Then the next read gets an answer at once, not "another operation is in progress",
    # on a connection other than the one left in an unknown state
    assert tuple(await reads(pool).one(TYPED, {"at": T, "n": 2})) == (T, 2, "fixed")
    assert await _backend_pid(pool) != pid


async def test_a_read_alongside_a_session_cancelled_mid_statement_stays_a_cancellation(
    one_connection: AsyncEngine, settings: Settings
) -> None:
    # Given a request whose session holds the pool's one connection, in its transaction, and
    # a read alongside it that the server takes a while over
    pool = one_connection
    sessions = session_factory(pool)
    slow = select(func.pg_sleep(bindparam("seconds", type_=Integer())).label("slept"))
    raised: list[str] = []

    async def request() -> None:
        async with sessions() as session:  # as deps.get_session does
            try:
                await session.execute(select(literal(1)))
                await reads(pool).alongside(session).one(slow, {"seconds": 30})
            except BaseException as exc:
                raised.append(type(exc).__name__)
                await session.rollback()
                raise

    started = asyncio.create_task(request())
    await _once_running(started, settings, "pg_sleep")
    # When the request is cancelled (a client gone, a server stopping)
    started.cancel()
    # Then it ends as cancelled: the session's rollback waited out the statement rather than
    # failing on a closed connection and putting its own error in the cancellation's place
    with pytest.raises(asyncio.CancelledError):
        await started
    assert raised == ["CancelledError"]
    # And the pool's connection serves the next request and the next read
    async with sessions() as session:
        assert (await session.execute(select(literal(7)))).scalar() == 7
    assert tuple(await reads(pool).one(TYPED, {"at": T, "n": 3})) == (T, 3, "fixed")


async def _once_running(task: asyncio.Task[Any], settings: Settings, fragment: str) -> None:
    """Return once the server runs `task`'s statement with `fragment` in it (or `task` ended)."""
    while not task.done():
        await asyncio.sleep(0.05)
        if await _running(settings, fragment):
            return


async def _running(settings: Settings, fragment: str) -> bool:
    """Whether a backend of the server is running a statement with `fragment` in it."""
    other = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with other.connect() as conn:
            found = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND query LIKE :q AND pid <> pg_backend_pid()"
                ),
                {"q": f"%{fragment}%"},
            )
        return bool(found)
    finally:
        await other.dispose()


async def test_a_preview_reads_the_same_on_the_driver_as_in_a_session(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    # Given two stored leads, one of them bought by an agent
    now = clock.now()
    cipher = FieldCipher(settings.encryption_keys)
    rows = [lead_row(settings, cipher, now=now) for _ in range(2)]
    await insert_leads(sessions, rows, now=now)
    buyer = await make_account(sessions, now=now)
    await record_purchase(sessions, lead_public_id=rows[1]["public_id"], account=buyer, now=now)
    names = [*PREVIEW_COLUMNS, "paid_cents", "paid_currency"]
    for row in rows:
        # When each one's preview row is read on the driver (twice: the first run learns the
        # columns' types, the next ones use them) and in a session
        async with sessions() as session:
            in_session = await preview_by_public_id(
                SessionRows(session), row["public_id"], buyer.id, PREVIEW_COLUMNS
            )
        assert in_session is not None
        for _ in range(2):
            on_driver = await preview_by_public_id(
                reads(engine), row["public_id"], buyer.id, PREVIEW_COLUMNS
            )
            # Then every column reads the same, by name and by position (ids, statuses,
            # instants, numbers, what the buyer paid)
            assert on_driver is not None
            for name in names:
                assert getattr(on_driver, name) == getattr(in_session, name), name
            assert tuple(on_driver) == tuple(in_session)
    # (the last one read: the lead the buyer bought)
    assert on_driver is not None
    assert (on_driver.paid_cents, on_driver.paid_currency) == (2000, "USD")
    assert on_driver.status == "sold"
    # And a lead that does not exist is None both ways
    absent = uuid.uuid4()
    assert await preview_by_public_id(reads(engine), absent, 1, PREVIEW_COLUMNS) is None
    async with sessions() as session:
        assert await preview_by_public_id(SessionRows(session), absent, 1, PREVIEW_COLUMNS) is None


@pytest.mark.parametrize(
    "stmt",
    [
        select(literal(1)),  # columns without a name
        select(func.now()),
        select(literal(1).label("n"), literal(2).label("n")),  # two of one name
        select(bindparam("at", callable_=lambda: T, type_=UTCDateTime()).label("at")),
    ],
    ids=["unnamed-literal", "unnamed-function", "same-name", "computed-bind"],
)
async def test_what_the_driver_cannot_be_handed_as_it_is_is_refused(
    engine: AsyncEngine, stmt: AnySelect
) -> None:
    if engine.dialect.driver != "asyncpg":
        pytest.skip("the driver path is asyncpg's")
    with pytest.raises(ValueError, match=r"run it in a session|distinct names"):
        await reads(engine).one(stmt, {})


async def test_a_cart_reads_the_same_on_the_driver_as_in_a_session(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    # Given an agent holding three leads
    account, headers = await agent(client, sessions, clock)
    cipher = FieldCipher(settings.encryption_keys)
    rows = [lead_row(settings, cipher, now=clock.now()) for _ in range(3)]
    await insert_leads(sessions, rows, now=clock.now())
    await hold_leads(client, headers, [r["public_id"] for r in rows])
    # When its live holds are read on the driver (twice: the first run learns the columns'
    # types) and in a session
    now = clock.now()
    await live_holds(reads(engine), account.id, now=now)
    on_driver = await live_holds(reads(engine), account.id, now=now)
    async with sessions() as session:
        in_session = await live_holds(SessionRows(session), account.id, now=now)
    # Then both give the same rows in the same order, by position and by name
    assert len(on_driver) == 3
    assert [tuple(r) for r in on_driver] == [tuple(r) for r in in_session]
    for name in ("public_id", "held_until", "hold_price_cents", "hold_currency", "status"):
        assert [getattr(r, name) for r in on_driver] == [getattr(r, name) for r in in_session]
    # And the cart view, read so, lists them
    cart = (await client.get("/api/v1/cart", headers=headers)).json()
    assert [i["lead"]["id"] for i in cart["items"]] == [str(r.public_id) for r in in_session]


async def test_an_accounts_principal_reads_the_same_on_the_driver_as_in_a_session(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    # Given an agent
    account, _ = await agent(client, sessions, clock)
    # When its principal's columns are read on the driver (twice: the first run learns the
    # columns' types) and in a session
    await principal_columns(reads(engine), account.public_id)
    on_driver = await principal_columns(reads(engine), account.public_id)
    async with sessions() as session:
        in_session = await principal_columns(SessionRows(session), account.public_id)
    # Then both give the same facts, their types included
    assert on_driver is not None and in_session is not None
    assert tuple(on_driver) == tuple(in_session)
    assert AccountFacts(*on_driver) == AccountFacts(*in_session)
    assert isinstance(on_driver.public_id, uuid.UUID) and on_driver.id == account.id
    # And an unknown account is none
    assert await principal_columns(reads(engine), uuid.uuid4()) is None
