"""Lookups by a batch of keys: `column = ANY(:array)` on PostgreSQL, `column IN (…)` elsewhere.

An IN list binds one parameter per key, so a lookup of a 2,000-record batch compiles and sends
2,000 parameters and, its text depending on how many keys there are, is a new statement for the
server (asyncpg prepares every text it has not seen: one more round trip, parse and plan) almost
every batch. On PostgreSQL one array parameter does the same with one statement text whatever
the count, and one statement where IN lists took two: per 2,000-key lookup of a 60k-lead table
the client's CPU fell from 16-20 ms to 7-9 ms, the server's rose from 11-13 ms to 15-17 ms (its
custom plan of a 2,000-element array; a generic plan takes 8-10 ms), bench-s8/ingest. SQLite has
no arrays: there the keys go in IN lists of at most `CHUNK`, far below its parameter limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, String, any_, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
CHUNK = 1000  # keys per IN list: far below SQLite's 32,766 bound parameters


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def key_groups(session: AsyncSession, keys: Sequence[T]) -> Iterable[Sequence[T]]:
    """`keys` in the groups one lookup statement takes each: all of them on PostgreSQL, `CHUNK`
    at a time elsewhere; nothing for no keys."""
    if not keys:
        return
    if _postgres(session):
        yield keys
        return
    for start in range(0, len(keys), CHUNK):
        yield keys[start : start + CHUNK]


def one_of(session: AsyncSession, column: Any, keys: Sequence[Any]) -> ColumnElement[bool]:
    """`column` is one of `keys` (a group from `key_groups`): `column = ANY(:keys)`, the keys bound
    as one array of the column's type, on PostgreSQL; `column IN (:k1, …)` elsewhere."""
    if _postgres(session):
        element = column.type
        if isinstance(element, String):
            # No length: cast to VARCHAR(n)[] a longer key would be cut to n characters and
            # could find a stored key it merely begins with.
            element = String()
        condition: ColumnElement[bool] = column == any_(literal(list(keys), ARRAY(element)))
        return condition
    return column.in_(keys)  # type: ignore[no-any-return]
