"""Emptying the test database between tests: only the tables a test filled.

Emptying every table cost more than the test itself for most tests: TRUNCATE of the 40-odd
tables took about 235 ms on PostgreSQL (each truncated table gets a new file and catalog rows)
and DELETE of all of them about 60 ms on SQLite, before and after each of some 2,600 database
tests. One statement now asks which tables hold a row; only those are emptied, by DELETE, which
on a few rows costs nothing like a new file. Identity sequences a test advanced start again at 1,
as TRUNCATE … RESTART IDENTITY made them, so a test that reads ids sees the same ones whatever
ran before it. (SQLite gives an emptied table's next row the id 1 by itself: no table uses
AUTOINCREMENT.)
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aiqleads.db.base import Base

# PostgreSQL: this session's triggers and foreign-key checks off while the rows go (the ledger's
# triggers refuse every DELETE; every filled table is emptied, so no reference is left dangling).
# The setting needs a superuser, as the suite's databases do already (CREATE EXTENSION postgis).
_TRIGGERS_OFF = "SET LOCAL session_replication_role = replica"
_RESTART_SEQUENCES = """
SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)
FROM pg_sequences
WHERE schemaname = current_schema() AND last_value IS NOT NULL
"""


async def _filled(conn: AsyncConnection, names: list[str]) -> list[str]:
    """The tables among `names` that hold at least one row, in the order of `names`."""
    probe = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})"  # noqa: S608 (table names)
        for name in names
    )
    found = set((await conn.execute(text(probe))).scalars())
    return [name for name in names if name in found]


async def empty_tables(engine: AsyncEngine) -> None:
    """Delete every row of the application's tables (Base.metadata) and, on PostgreSQL, restart
    their identity sequences. Tables are visited children first, so foreign keys hold on SQLite,
    where the triggers of the tables emptied (the ledger's) are dropped for the moment and put
    back."""
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as conn:
        filled = await _filled(conn, names)
        if engine.dialect.name == "postgresql":
            if filled:
                await conn.execute(text(_TRIGGERS_OFF))
            for name in filled:
                await conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 (table names)
            await conn.execute(text(_RESTART_SEQUENCES))
            return
        if not filled:
            return
        triggers = [
            (name, sql)
            for name, table, sql in await conn.execute(
                text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
            )
            if table in filled
        ]
        for name, _ in triggers:
            await conn.execute(text(f"DROP TRIGGER {name}"))
        for name in filled:
            await conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 (table names)
        for _, sql in triggers:
            await conn.execute(text(sql))
