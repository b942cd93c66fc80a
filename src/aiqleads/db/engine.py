"""Engines and sessions. The request's session dependency owns commit and rollback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from aiqleads.config import Settings
from aiqleads.observability.db import instrument

T = TypeVar("T")


def _sqlite_pragmas(dbapi_conn: Any, _: ConnectionPoolEntry) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside the one writer; busy_timeout makes racing writers wait, not fail.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def create_engine(
    settings: Settings, *, plan_cache_mode: str = "force_custom_plan", **kwargs: Any
) -> AsyncEngine:
    """The engine of `settings.database_url`; `kwargs` go to SQLAlchemy's create_async_engine,
    but for `ping_idle_seconds` (PostgreSQL: see PING_IDLE_SECONDS; 0 pings every checkout).
    `plan_cache_mode`: PostgreSQL's setting of that name for the engine's connections (see
    below; "force_generic_plan" for `generic_plan_engine`)."""
    url = settings.database_url
    idle_seconds = float(kwargs.pop("ping_idle_seconds", PING_IDLE_SECONDS))
    # Bind parameters are password hashes, token ids and owner contacts: never in a log line
    # (SQLAlchemy logs them at INFO with the statement) nor in an exception's text.
    kwargs.setdefault("hide_parameters", True)
    if settings.is_sqlite:
        path = settings.sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        instrument(engine.sync_engine)
        return engine
    # asyncpg prepares every statement, and after five runs PostgreSQL may switch to a generic
    # plan that cannot see the values: a map box then walks the GiST index and sorts 30k rows
    # (100 ms at 1M leads) where the custom plan takes 2-8 ms. Planning each time costs well
    # under a millisecond.
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("server_settings", {}).setdefault("plan_cache_mode", plan_cache_mode)
    kwargs.setdefault("pool_size", settings.db_pool_size)
    kwargs.setdefault("max_overflow", settings.db_max_overflow)
    # The connection returned last goes out first: under a light load a few connections serve
    # every request, their statements prepared and their backends' caches warm, where handing
    # them out in turn made each of the twenty prepare every statement (a checkout's first run
    # on a connection prepared some thirty: a fifth of its CPU).
    kwargs.setdefault("pool_use_lifo", True)
    # A connection is tested as the pool hands it out (a PostgreSQL restart closes them all):
    # by `_ping_on_checkout`, one round trip, rather than SQLAlchemy's pool_pre_ping, which
    # on asyncpg wraps its ping in a transaction of its own (BEGIN, ping, ROLLBACK: three);
    # and only when the connection has been idle `ping_idle_seconds` or more (see
    # `_ping_on_checkout`). (A caller naming pool_pre_ping gets what it names instead.)
    ping = "pool_pre_ping" not in kwargs
    engine = create_async_engine(url, **kwargs)
    if ping:
        sync = engine.sync_engine
        event.listen(sync, "connect", _note_returned)
        event.listen(sync, "checkin", _note_returned)
        event.listen(sync, "checkout", _pinging_after(idle_seconds))
    instrument(engine.sync_engine)
    return engine


def generic_plan_engine(settings: Settings, engine: AsyncEngine) -> AsyncEngine:
    """For statements whose best plan does not depend on their values (a row by its key, a
    hold's conditional UPDATE, a cache key's maxima and sums): on PostgreSQL a second pool whose
    connections plan each prepared statement once, for every value (plan_cache_mode =
    force_generic_plan), where `engine`'s connections plan each execution. A hold or a release
    planned its two six-CTE statements at every bind: 0.3-0.45 ms of PostgreSQL's CPU each,
    20 µs with the kept plan (measured with EXPLAIN on the bench's data). `auto`, which keeps a
    generic plan only once it looks no dearer than the custom ones, never kept the cache key's
    (`geo.repository.cache_inputs`: a range on a parameter looks dearer unseen), planned for
    0.3-1.2 ms at each of a cached search's reads, against 0.1-0.2 ms run with its kept plan.
    Elsewhere (SQLite) `engine` itself."""
    if engine.dialect.name != "postgresql":
        return engine
    return create_engine(settings, plan_cache_mode="force_generic_plan")


# A connection back in the pool for less than this is handed out without a ping. What closes
# connections at once (a restart, a terminated backend) also closes their sockets, which the
# event loop sees (EOF) and the check below without a round trip; a ping is still sent after
# an idle spell, the time a silently dropped connection (a firewall's idle timeout, a host gone
# without a FIN) takes to matter. Under load a connection is back in use within milliseconds:
# the ping was one of a hold's seven round trips.
PING_IDLE_SECONDS = 2.0
_RETURNED = "aiq_returned_at"  # connection record's info: time.monotonic() at check-in


def _note_returned(_dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED] = time.monotonic()


def _pinging_after(idle_seconds: float) -> Callable[[Any, Any, Any], None]:
    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        fresh = returned is not None and time.monotonic() - returned < idle_seconds
        if fresh and not record.driver_connection.is_closed():
            return
        _ping_on_checkout(dbapi_connection, record, proxy)

    return checkout


def _ping_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Test a connection as the pool hands it out with `SELECT 1` in the simple query
    protocol (one round trip, no transaction). A connection that fails it is discarded and
    the pool tries another (SQLAlchemy's "pessimistic disconnect handling": raising
    DisconnectionError from a checkout event), so the request never sees a dead one. Skipped
    (by `_pinging_after`) for a connection returned to the pool moments ago whose socket is
    still open."""
    try:
        dbapi_connection.run_async(lambda conn: conn.execute("SELECT 1"))
    except Exception as exc:  # any failure of the ping: the connection is not usable
        raise DisconnectionError("connection failed its ping") from exc


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read, on the same pool: on PostgreSQL each statement
    runs on its own (AUTOCOMMIT), which spares the BEGIN and COMMIT round trips a transaction
    costs (two of a one-query request's four). Each statement still sees committed data only
    (a snapshot per statement, as READ COMMITTED gives inside a transaction). SQLite, which has
    no round trips, keeps ordinary sessions."""
    if engine.dialect.name != "postgresql":
        return session_factory(engine)
    return session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A unit of work outside a request (CLI, workers): commit on success, roll back on error."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


@asynccontextmanager
async def side_transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A separate transaction on the same engine, committed on its own.

    For facts that must survive the request's rollback, such as a failed login being counted
    or a stolen token family being revoked just before the 401 is raised. `session` must hold
    no connection (commit or roll back first): a request holding one while it waits for a
    second from the same pool deadlocks it once as many requests do so as it has connections
    (see db.row_reads). Raises RuntimeError otherwise.
    """
    if session.in_transaction():
        raise RuntimeError("end the session's transaction before a side transaction")
    async with AsyncSession(session.bind, expire_on_commit=False) as own:
        try:
            yield own
            await own.commit()
        except BaseException:
            await own.rollback()
            raise


def run_in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on a fresh engine of `settings`, from synchronous code (a
    CLI command), and dispose of the engine after. Returns what `work` returns."""

    async def go() -> T:
        engine = create_engine(settings)
        try:
            async with transaction(session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())
