"""Bulk writes by COPY (PostgreSQL only): what goes in is what comes out, column for column."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db import bulk
from aiqleads.db.engine import transaction
from aiqleads.models import Quarantine
from tests.conftest import T0

quarantine = cast(Table, Quarantine.__table__)
COLUMNS = ["source", "source_ref", "stage", "reason", "reasons", "raw", "payload_hash"]


def _row(n: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source": "zillow",
        "source_ref": f"Z-{n}",
        "stage": "parse",
        "reason": "parse_rejected",
        "reasons": [f"parse_rejected: row {n}"],
        "raw": {"n": n, "nested": {"price": "$909K"}},
        "payload_hash": f"{n:064d}",
        "created_at": T0,
        "attempts": 1,
    }
    row.update(overrides)
    return row


async def _postgres_only(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        if not bulk.is_postgres(session):
            pytest.skip("COPY is PostgreSQL's")


async def test_staged_rows_come_back_with_json_and_missing_keys(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _postgres_only(sessions)
    # Given rows with JSON columns, one of which lacks a key (source_ref) and one a JSON null
    rows = [_row(1), {k: v for k, v in _row(2).items() if k != "source_ref"}, _row(3, raw=None)]
    async with transaction(sessions) as session:
        # When they are staged by COPY and read back in the same transaction
        staged = await bulk.stage(session, quarantine, COLUMNS, rows)
        back = (await session.execute(select(*staged.c).order_by(staged.c.payload_hash))).all()
    # Then every value is the one given, the missing key as NULL and JSON as JSON
    assert [tuple(r) for r in back] == [
        tuple(_row(1)[c] for c in COLUMNS),
        tuple(None if c == "source_ref" else _row(2)[c] for c in COLUMNS),
        tuple(None if c == "raw" else _row(3)[c] for c in COLUMNS),
    ]


async def test_copy_into_appends_rows_of_one_column_or_many(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _postgres_only(sessions)
    columns = [*COLUMNS, "created_at", "attempts"]
    async with transaction(sessions) as session:
        await bulk.copy_into(session, quarantine, columns, [_row(n) for n in range(60)])
        staged = await bulk.stage(session, quarantine, ["reason"], [{"reason": "a"}, {}])
        one = (await session.scalars(select(staged.c.reason).order_by(staged.c.reason))).all()
    async with transaction(sessions) as session:
        stored = (await session.execute(select(quarantine.c.source_ref, quarantine.c.raw))).all()
    assert sorted(stored) == sorted((f"Z-{n}", _row(n)["raw"]) for n in range(60))
    assert one == ["a", None]
