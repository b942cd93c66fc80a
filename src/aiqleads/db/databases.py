"""Creating and dropping whole PostgreSQL databases: for tests, benchmarks and set-up scripts."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import make_url

from aiqleads.config import Settings
from aiqleads.db.engine import create_engine

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _checked(name: str) -> str:
    # Database names cannot be bound parameters, so only plain identifiers are accepted.
    if not _NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")
    return name


async def _run_outside_transaction(admin_url: str, statements: list[str]) -> None:
    engine = create_engine(Settings(database_url=admin_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def recreate_database(admin_url: str, name: str) -> str:
    """Drop `name` if it exists, create it empty, and return its URL (the admin URL's server)."""
    name = _checked(name)
    await _run_outside_transaction(
        admin_url, [f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"']
    )
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(admin_url: str, name: str, *, force: bool = False) -> None:
    """Drop `name` if it exists. `force` ends the sessions still connected to it first
    (PostgreSQL 13 and later); without it, a connected session makes the drop fail."""
    forced = " WITH (FORCE)" if force else ""
    await _run_outside_transaction(
        admin_url, [f'DROP DATABASE IF EXISTS "{_checked(name)}"{forced}']
    )
