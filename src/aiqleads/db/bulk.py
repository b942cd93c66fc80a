"""Bulk writes, PostgreSQL only: rows into a temporary staging table by binary COPY, from which
one set-based statement (INSERT … SELECT … ON CONFLICT, UPDATE … FROM) writes the real table.

COPY moves rows at about 500k a second where an INSERT per row, or even a multi-row VALUES list,
pays parsing, planning and a round trip per statement. The staging table lives in the caller's
transaction (ON COMMIT DROP), so a crash leaves nothing behind and a retry starts clean.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Column, MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncSession

_seq = 0


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def stage(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> Table:
    """A temporary table with `columns` of `table` (types only: no constraint, default or
    generated expression), filled with `rows` by binary COPY. Returns it as a Table to select
    from; it is dropped when the transaction ends."""
    global _seq
    _seq += 1
    name = f"_stage_{table.name}_{_seq}_{uuid.uuid4().hex[:6]}"
    cols = ", ".join(f'"{c}"' for c in columns)
    await session.execute(
        text(
            f"CREATE TEMP TABLE {name} ON COMMIT DROP AS "  # noqa: S608 (our own names)
            f"SELECT {cols} FROM {table.name} WITH NO DATA"
        )
    )
    jsons = {c for c in columns if isinstance(table.c[c].type, JSON)}
    records = [tuple(_json(r.get(c)) if c in jsons else r.get(c) for c in columns) for r in rows]
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None  # an open asyncpg connection
    await driver.copy_records_to_table(name, records=records, columns=list(columns))
    staged = Table(name, MetaData(), *(Column(c, table.c[c].type) for c in columns))
    return staged


def _json(value: Any) -> str | None:
    # asyncpg's COPY takes json as text.
    return None if value is None else json.dumps(value)


async def copy_into(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Append `rows` to `table` by binary COPY (for tables where no row can conflict: the
    others are written from a staging table, see `stage`)."""
    jsons = {c for c in columns if isinstance(table.c[c].type, JSON)}
    records = [tuple(_json(r.get(c)) if c in jsons else r.get(c) for c in columns) for r in rows]
    conn = await session.connection()
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.copy_records_to_table(table.name, records=records, columns=list(columns))
