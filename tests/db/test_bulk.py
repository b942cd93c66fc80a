"""Bulk writes by COPY (PostgreSQL only): what goes in is what comes out, column for column."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy import Table, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db import bulk
from aiqleads.db.engine import transaction
from aiqleads.models import LeadPriceHistory, Quarantine
from tests.conftest import T0

quarantine = cast(Table, Quarantine.__table__)
price_history = cast(Table, LeadPriceHistory.__table__)
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


async def _plan_mode_and_backend(session: AsyncSession) -> tuple[str, int]:
    row = (
        await session.execute(text("SELECT current_setting('plan_cache_mode'), pg_backend_pid()"))
    ).one()
    return row[0], row[1]


@pytest.mark.parametrize("write", ["stage", "copy_into"])
async def test_a_bulk_write_keeps_row_check_plans_for_its_transaction_only(
    sessions: async_sessionmaker[AsyncSession], write: str
) -> None:
    await _postgres_only(sessions)
    # Given the application's connections, which plan every execution
    async with sessions() as session:
        async with session.begin():
            before, backend = await _plan_mode_and_backend(session)
            # When a bulk write runs in a transaction
            rows = [_row(n) for n in range(3)]
            if write == "stage":
                await bulk.stage(session, quarantine, COLUMNS, rows)
            else:
                columns = [*COLUMNS, "created_at", "attempts"]
                await bulk.copy_into(session, quarantine, columns, rows)
            during, _ = await _plan_mode_and_backend(session)
            await session.rollback()
        async with session.begin():
            after, same_backend = await _plan_mode_and_backend(session)
    # Then the server may keep plans (of the per-row foreign-key checks) until it ends, and the
    # connection is back to planning each execution in the next transaction
    assert same_backend == backend  # the pool hands the same connection back (LIFO)
    assert (before, during, after) == ("force_custom_plan", "auto", "force_custom_plan")


async def test_rows_written_in_bulk_are_still_checked_against_their_parent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _postgres_only(sessions)
    # Given price observations of a lead that does not exist, staged in bulk
    rows = [
        {
            "lead_id": 10**12 + n,
            "source": "zillow",
            "asking_price_cents": 100_00,
            "currency": "USD",
            "observed_at": T0,
        }
        for n in range(60)
    ]
    # When they are written with the kept check plans, then the foreign key still refuses them
    with pytest.raises(IntegrityError, match="fk_lead_price_history_lead_id_leads"):
        async with transaction(sessions) as session:
            staged = await bulk.stage(session, price_history, list(rows[0]), rows)
            names = [c.name for c in staged.c]
            await session.execute(price_history.insert().from_select(names, select(*staged.c)))
