"""Bulk writes, PostgreSQL only: rows into a temporary staging table by binary COPY, from which
one set-based statement (INSERT … SELECT … ON CONFLICT, UPDATE … FROM) writes the real table.

COPY moves rows at about 500k a second where an INSERT per row, or even a multi-row VALUES list,
pays parsing, planning and a round trip per statement. The staging table lives in the caller's
transaction (ON COMMIT DROP), so a crash leaves nothing behind and a retry starts clean.

`execute_together` is the small-write counterpart: several independent INSERT/UPDATE/DELETE
statements in one round trip on PostgreSQL (data-modifying CTEs), one by one elsewhere.
`insert_if` makes a one-row INSERT conditional, so it can ride in the statement of the write it
depends on (see `leads.writes.take_hold`'s `along`).
"""

from __future__ import annotations

import json
import operator
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Delete,
    Insert,
    MetaData,
    Table,
    Update,
    literal,
    select,
    text,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

_seq = 0


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def execute_together(
    session: AsyncSession,
    statements: Sequence[Insert | Update | Delete],
    params: Mapping[str, Any] | None = None,
) -> None:
    """Run writes that do not depend on each other's effects, results unread. On PostgreSQL
    as one statement, each but the last a data-modifying CTE of the last: they all see the
    database as it was before any of them ran (none sees another's rows), and each runs
    exactly once, whole, or the statement fails. Elsewhere (SQLite) one after the other, in
    the order given. For a request's bookkeeping rows (a hold's record and its event), whose
    round trips cost more than their work. `params`: the values of the statements' named
    `bindparam()`s (one mapping for all; a statement ignores the names it does not use)."""
    if not statements:
        return
    if not is_postgres(session) or len(statements) == 1:
        for stmt in statements:
            await session.execute(stmt, params)
        return
    *first, last = statements
    combined = last
    for n, stmt in enumerate(first):
        combined = combined.add_cte(stmt.cte(f"w{n}"))
    await session.execute(combined, params)


def insert_if(table: Table, row: Mapping[str, Any], guard: ColumnElement[bool] | None) -> Insert:
    """The INSERT of one row into `table`; with `guard`, made only when `guard` is true, as
    INSERT … SELECT <the row's values> WHERE <guard> (each value bound with its column's type,
    as `values()` would). `guard` is typically EXISTS over a data-modifying CTE of the same
    statement: the row is written only if that write happened, in the same round trip.
    A value may be an expression, such as a named `bindparam()` (a statement built once, its
    values given at each execution): it is typed as its column, as a literal value is."""
    if guard is None:
        return table.insert().values(dict(row))
    names = list(row)
    values = [_typed(row[n], table.c[n].type).label(n) for n in names]
    return table.insert().from_select(names, select(*values).where(guard))


def _typed(value: Any, type_: TypeEngine[Any]) -> ColumnElement[Any]:
    if isinstance(value, ColumnElement):
        # A select list gives an expression no column to take its type from: give it here
        # (its value, if it carries one, kept).
        return type_coerce(value, type_)
    return literal(value, type_)


async def keep_row_check_plans(session: AsyncSession) -> None:
    """For the rest of the caller's transaction, let PostgreSQL keep the plans of the queries
    it runs once per written row: the foreign-key checks (`SELECT 1 FROM leads WHERE id = $1
    FOR KEY SHARE`, prepared inside the server) and row triggers' statements.

    The application's connections run with plan_cache_mode=force_custom_plan (see
    `db.engine.create_engine`), which the server applies to those internal queries too: each
    row's check was planned again. Measured here (EXPLAIN ANALYZE, 2,000 price-history rows
    whose leads the same transaction inserted): the check took 30 µs a row planned each time,
    4 µs with its kept plan; in an ingest, most of a provenance or price-history row's cost.
    The setting (`set_config(…, is_local => true)`) ends with the transaction; the statements
    a bulk write is followed by are keyed lookups and writes, whose plans do not depend on
    their values. A no-op elsewhere (SQLite checks foreign keys without planning)."""
    if is_postgres(session):
        await session.execute(text("SELECT set_config('plan_cache_mode', 'auto', true)"))


async def stage(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> Table:
    """A temporary table with `columns` of `table` (types only: no constraint, default or
    generated expression), filled with `rows` by binary COPY. Returns it as a Table to select
    from; it is dropped when the transaction ends."""
    global _seq
    _seq += 1
    name = f"_stage_{table.name}_{_seq}_{uuid.uuid4().hex[:6]}"
    await keep_row_check_plans(session)
    cols = ", ".join(f'"{c}"' for c in columns)
    await session.execute(
        text(
            f"CREATE TEMP TABLE {name} ON COMMIT DROP AS "  # noqa: S608 (our own names)
            f"SELECT {cols} FROM {table.name} WITH NO DATA"
        )
    )
    records = _records(table, columns, rows)
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None  # an open asyncpg connection
    await driver.copy_records_to_table(name, records=records, columns=list(columns))
    staged = Table(name, MetaData(), *(Column(c, table.c[c].type) for c in columns))
    return staged


def _records(
    table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    """The rows as tuples in `columns` order, a missing key as None and JSON columns as text.

    It runs for every row of every bulk write, so it picks the values with
    `operator.itemgetter` (one C call per row) and falls back to `dict.get` only when a row
    lacks a column: for a leads row (61 columns) 4.4 µs instead of the 7.7 µs of a Python
    generator per value (measured here, 10,000 rows).
    """
    picked: list[tuple[Any, ...]]
    if len(columns) == 1:  # itemgetter of one key gives the value, not a 1-tuple
        picked = [(r.get(columns[0]),) for r in rows]
    else:
        pick = operator.itemgetter(*columns)
        try:
            picked = [pick(r) for r in rows]
        except KeyError:
            picked = [tuple(map(r.get, columns)) for r in rows]
    jsons = [n for n, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    if not jsons:
        return picked
    out = []
    for record in picked:
        values = list(record)
        for n in jsons:
            values[n] = _json(values[n])
        out.append(tuple(values))
    return out


def _json(value: Any) -> str | None:
    # asyncpg's COPY takes json as text.
    return None if value is None else json.dumps(value)


async def copy_into(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Append `rows` to `table` by binary COPY (for tables where no row can conflict: the
    others are written from a staging table, see `stage`)."""
    await keep_row_check_plans(session)
    records = _records(table, columns, rows)
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.copy_records_to_table(table.name, records=records, columns=list(columns))
