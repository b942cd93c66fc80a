"""Reads by key run on the database driver itself, for the statements hot reads make.

A statement through SQLAlchemy's async session costs ~0.3 ms of CPU more than the driver alone
(bench/request_costs.py: a cache key read in a session 0.41 ms, `SELECT 1` on a bare asyncpg
connection 0.07 ms): greenlet hand-offs, an execution context, a result object. A cached catalog
page or map layer runs one statement, its cache key's (`geo.repository.cache_inputs`), a lead
preview one, its lead's, and a cart view one, its holds', so that was a fifth of their CPU.
`DriverRows` keeps SQLAlchemy for what it is for: the statement is built with Core, compiled
once per statement object for the engine's dialect, and the connection comes from the engine's
pool (its checkout ping and its plan settings included). On asyncpg the compiled text then runs
on the driver's own connection (asyncpg prepares it once per connection and keeps it), with each
value converted by its type as SQLAlchemy would. On any other driver (aiosqlite) it runs through
a session, as before.

A request reads `alongside` its session: once that session holds a connection (a principal or
tier policy read on a cache miss), its reads run on that connection rather than a second one
from the pool. A request holding one connection while it waits for another deadlocks once as
many requests do so as the pool has connections: each waits for the next to hand one back, and
none does until the pool's timeout fails them all (bench/http.py at 1M leads: 26 cart views
failed after 30 s, and every request of that worker waited behind them).

For SELECTs by key (one row, or the few rows of one key); not for statements whose parameters
expand (`IN` lists) or that write. Rows read on the driver are named tuples: their values by
position and by column name, as a SQLAlchemy `Row`'s.
"""

from __future__ import annotations

import keyword
import time
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Protocol

import asyncpg
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.util import greenlet_spawn

from aiqleads.observability.metrics import DB_QUERY_SECONDS

Processor = Callable[[Any], Any]
AnySelect = Select[*tuple[Any, ...]]  # a SELECT of any columns


class RowReader(Protocol):
    """Whatever reads the row of a SELECT by key: `DriverRows`, or a session (`SessionRows`).
    Rows give their values by position and by column name."""

    async def one(self, stmt: AnySelect, params: Mapping[str, Any]) -> Any:
        """The one row; NoResultFound or MultipleResultsFound (sqlalchemy.exc) otherwise."""
        ...

    async def first(self, stmt: AnySelect, params: Mapping[str, Any]) -> Any | None:
        """The first row, or None when there is none."""
        ...

    async def all(self, stmt: AnySelect, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row, in the statement's order."""
        ...

    def alongside(self, session: AsyncSession) -> RowReader:
        """This reader for a request whose other statements run in `session`: never holding
        a second connection while `session` holds one."""
        ...


@dataclass(frozen=True, slots=True)
class SessionRows:
    """Rows read in `session` (its transaction, if any)."""

    session: AsyncSession

    async def one(self, stmt: AnySelect, params: Mapping[str, Any]) -> Any:
        """The one row (a Row); NoResultFound or MultipleResultsFound otherwise."""
        return (await self.session.execute(stmt, params)).one()

    async def first(self, stmt: AnySelect, params: Mapping[str, Any]) -> Any | None:
        """The first row (a Row), or None."""
        return (await self.session.execute(stmt, params)).first()

    async def all(self, stmt: AnySelect, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row (Rows), in the statement's order."""
        return (await self.session.execute(stmt, params)).all()

    def alongside(self, session: AsyncSession) -> SessionRows:
        """Itself: its reads already run in a session."""
        return self


@dataclass(frozen=True, slots=True)
class DriverRows:
    """SELECTs by key on `engine`'s pool, each outside any transaction: on the driver itself
    with asyncpg, else in a session of `sessions` (which must be on `engine`). `alongside` a
    request's `session`: on the connection that session holds, if it holds one (in its
    transaction, if it has one), else as before.

    Each method takes `params` as bind name -> value and converts the rows' values by their
    columns' types, as a session's would be. They raise ValueError for a statement this cannot
    run on the driver (see `_for_driver`), KeyError for a missing parameter, DBAPIError
    (sqlalchemy.exc) for a statement the server refused, and the driver's own errors for a
    connection lost."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    session: AsyncSession | None = None

    def alongside(self, session: AsyncSession) -> DriverRows:
        """These reads for a request whose other statements run in `session`."""
        return replace(self, session=session)

    async def one(self, stmt: AnySelect, params: Mapping[str, Any]) -> Any:
        """The one row `stmt` returns. Raises NoResultFound or MultipleResultsFound
        (sqlalchemy.exc) unless exactly one row comes back."""
        rows = await self.all(stmt, params)
        if len(rows) != 1:
            raise (NoResultFound if not rows else MultipleResultsFound)(
                f"expected one row, got {len(rows)}"
            )
        return rows[0]

    async def first(self, stmt: AnySelect, params: Mapping[str, Any]) -> Any | None:
        """The first row `stmt` returns, or None. (Meant for statements by a unique key: every
        row is read.)"""
        rows = await self.all(stmt, params)
        return rows[0] if rows else None

    async def all(self, stmt: AnySelect, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row `stmt` returns, in its order: for the few rows of one key (an account's
        holds), all read at once."""
        if self.engine.dialect.driver != "asyncpg":
            if self.session is not None:
                return await SessionRows(self.session).all(stmt, params)
            async with self.sessions() as session:
                return await SessionRows(session).all(stmt, params)
        prepared, rows = await self._fetch(stmt, params)
        return [prepared.row(r) for r in rows]

    async def _fetch(
        self, stmt: AnySelect, params: Mapping[str, Any]
    ) -> tuple[_DriverStatement, list[Any]]:
        dialect = self.engine.dialect
        prepared = _for_driver(stmt, dialect)
        args = prepared.arguments(params)
        held = self.session is not None and self.session.in_transaction()
        if held:
            assert self.session is not None
            raw = await (await self.session.connection()).get_raw_connection()
        else:
            raw = await self.engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            started = time.perf_counter()
            try:
                if prepared.results is None:
                    # The first run in this process: the columns' types as the server gives
                    # them, which some conversions need (a numeric's), as SQLAlchemy's do.
                    statement = await driver.prepare(prepared.sql)
                    prepared.learn([a.type.oid for a in statement.get_attributes()], dialect)
                    rows = await statement.fetch(*args)
                else:
                    rows = await driver.fetch(prepared.sql, *args)
            except asyncpg.PostgresError as exc:
                # The server refused the statement: a connection outside any transaction is as
                # good as before; in a session's transaction, that transaction is aborted, as by
                # a statement of the session's, and the session rolls it back. Raised as
                # SQLAlchemy's error, as a session's would be: its message (which may quote
                # values) is then withheld from the logs (observability.logging.
                # format_exception) and callers catch one kind.
                raise DBAPIError(prepared.sql, None, exc, hide_parameters=True) from exc
            except BaseException:
                # Cancelled, or the connection failed mid-statement: its state is unknown.
                # Our own: close its socket now (no await, which a cancelled task may not
                # get): the pool's checkout test sees it closed and replaces it (db.engine).
                # The session's: left to the session, whose rollback waits out the cancelled
                # statement as for one of its own; closed here, that rollback failed and its
                # error replaced the cancellation.
                if not held:
                    driver.terminate()
                raise
            DB_QUERY_SECONDS.labels("select").observe(time.perf_counter() - started)
        finally:
            if not held:
                # Back to the pool inside SQLAlchemy's greenlet: a check-in may close the
                # DBAPI connection (an invalidated or surplus one), which awaits.
                await greenlet_spawn(raw.close)
        return prepared, rows


@dataclass(slots=True)
class _DriverStatement:
    """A statement compiled for the driver: its text, the bind names in the order of its
    positional parameters, the values bound when it was built (literals), each bind's type
    conversion and, once learnt from its first run, each column's (None: the driver's value
    as it is)."""

    sql: str
    names: tuple[str, ...]
    fixed: dict[str, Any]
    binds: tuple[Processor | None, ...]
    columns: tuple[Any, ...]
    named: Callable[..., tuple[Any, ...]]
    results: tuple[Processor | None, ...] | None = None

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for `params` (bind name -> value), each converted by its
        bind's type. Raises KeyError for a bind given no value."""
        values = {**self.fixed, **params}
        return [
            value if convert is None else convert(value)
            for value, convert in zip((values[n] for n in self.names), self.binds, strict=True)
        ]

    def learn(self, type_oids: Sequence[int], dialect: Dialect) -> None:
        """Each column's conversion, given the server's type of each (by OID)."""
        self.results = tuple(
            type_.dialect_impl(dialect).result_processor(dialect, oid)
            for type_, oid in zip(self.columns, type_oids, strict=True)
        )

    def row(self, record: Sequence[Any]) -> tuple[Any, ...]:
        assert self.results is not None  # learnt on the first run
        return self.named(
            *(
                value if convert is None else convert(value)
                for value, convert in zip(record, self.results, strict=True)
            )
        )


@lru_cache(maxsize=64)
def _for_driver(stmt: AnySelect, dialect: Dialect) -> _DriverStatement:
    """`stmt` compiled once for `dialect` (statements are built once per shape and kept, so
    the cache meets the same objects again). Raises ValueError for what the driver cannot be
    handed as it is: expanding parameters (`IN` lists), values computed at each execution (a
    bind's `callable_`), and columns without a name of their own (unlabelled expressions,
    or two of the same name, which a Row would refuse to give by name)."""
    compiled = stmt.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    if "POSTCOMPILE" in compiled.string:
        raise ValueError("a statement with expanding parameters: run it in a session")
    bound = [compiled.binds[n] for n in names]
    if any(b.callable is not None for b in bound):
        raise ValueError("a bind computed at each execution: run it in a session")
    selected = list(stmt.selected_columns)
    keys = [str(c.key) for c in selected]
    if not all(_plain_name(k) for k in keys) or len(set(keys)) != len(keys):
        raise ValueError(f"columns need distinct names (label them): {keys}")
    binds = tuple(b.type.dialect_impl(dialect).bind_processor(dialect) for b in bound)
    fixed = {n: b.value for n, b in zip(names, bound, strict=True) if not b.required}
    columns = tuple(column.type for column in selected)
    named = namedtuple("DriverRow", keys)  # type: ignore[misc]
    return _DriverStatement(compiled.string, names, fixed, binds, columns, named)


def _plain_name(key: str) -> bool:
    """Whether a column's key can name a field of a row: an expression's anonymous key (None,
    or "%(… param)s" for a literal) cannot."""
    return key.isidentifier() and not keyword.iskeyword(key) and not key.startswith("_")
