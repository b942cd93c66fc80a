"""One page of a table's encrypted columns rewritten: the domain-free part of `aiqleads keys
rotate` (each table's owner calls it for its own columns)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class Page:
    last_id: int | None  # the page's highest id; None when no row was left after `after_id`
    rows: int  # rows read
    changed: int  # rows rewritten


async def rewrite_page(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    transform: Callable[[Any], Any],
    *,
    after_id: int,
    limit: int,
) -> Page:
    """Read up to `limit` rows of `table` with id > `after_id` in id order and write back each
    row whose `columns` `transform` changes (it maps a stored value to the value to store;
    returning it unchanged leaves the row alone, so a second pass over done rows writes
    nothing)."""
    id_col: Column[Any] = table.c.id
    rows = (
        await session.execute(
            select(id_col, *(table.c[c] for c in columns))
            .where(id_col > after_id)
            .order_by(id_col)
            .limit(limit)
        )
    ).all()
    if not rows:
        return Page(None, 0, 0)
    changes = []
    for row in rows:
        values = {c: transform(row[i + 1]) for i, c in enumerate(columns)}
        if any(values[c] != row[i + 1] for i, c in enumerate(columns)):
            changes.append({"row_id": row[0], **{f"new_{c}": v for c, v in values.items()}})
    if changes:
        await session.execute(
            update(table)
            .where(id_col == bindparam("row_id"))
            .values({c: bindparam(f"new_{c}", type_=table.c[c].type) for c in columns}),
            changes,
            execution_options={"synchronize_session": False},
        )
    return Page(int(rows[-1][0]), len(rows), len(changes))
