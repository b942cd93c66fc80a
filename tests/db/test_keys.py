"""Lookups by a batch of keys: the rows of exactly those keys, in one statement on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db import bulk
from aiqleads.db.engine import transaction
from aiqleads.db.keys import CHUNK, key_groups, one_of
from aiqleads.models import Quarantine
from tests.conftest import T0

quarantine = cast(Table, Quarantine.__table__)


def _row(n: int) -> dict[str, object]:
    return {
        "source": "zillow",
        "source_ref": f"Z-{n}",
        "stage": "parse",
        "reason": "parse_rejected",
        "reasons": [f"parse_rejected: row {n}"],
        "raw": {"n": n},
        "payload_hash": f"{n:064d}",
        "created_at": T0,
        "attempts": 1,
    }


async def _lookup(session: AsyncSession, column: str, wanted: Sequence[object]) -> set[object]:
    found: set[object] = set()
    for group in key_groups(session, wanted):
        condition = one_of(session, quarantine.c[column], group)
        found.update((await session.scalars(select(quarantine.c[column]).where(condition))).all())
    return found


async def test_lookup_finds_exactly_the_given_keys_beyond_one_in_list(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Given 2,500 stored rows (more than one IN list of SQLite holds)
    rows = [_row(n) for n in range(2500)]
    async with transaction(sessions) as session:
        await session.execute(quarantine.insert(), rows)
        ids = sorted((await session.scalars(select(quarantine.c.id))).all())
    async with transaction(sessions) as session:
        # When every other stored ref, and refs never stored, are looked up by string and by id
        refs = [f"Z-{n}" for n in range(0, 2500, 2)] + ["Z-x", "Z-2500", ""]
        by_ref = await _lookup(session, "source_ref", refs)
        by_id = await _lookup(session, "id", [*ids[:1500], -1, ids[-1] + 1])
        nothing = await _lookup(session, "source_ref", [])
    # Then exactly the stored ones come back, whatever the group sizes
    assert by_ref == {f"Z-{n}" for n in range(0, 2500, 2)}
    assert by_id == set(ids[:1500])
    assert nothing == set()


async def test_groups_are_one_statement_on_postgres_and_in_lists_elsewhere(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    keys = [f"k{n}" for n in range(2 * CHUNK + 1)]
    async with transaction(sessions) as session:
        groups = [list(g) for g in key_groups(session, keys)]
        compiled = [
            str(one_of(session, quarantine.c.source_ref, g).compile(session.get_bind()))
            for g in (keys[:3], keys[:700])
        ]
        postgres = bulk.is_postgres(session)
    assert [k for g in groups for k in g] == keys
    if postgres:
        # One array parameter: the statement's text is the same for any number of keys
        assert len(groups) == 1
        assert compiled[0] == compiled[1]
        assert "ANY" in compiled[0]
    else:
        assert [len(g) for g in groups] == [CHUNK, CHUNK, 1]
        assert "IN" in compiled[0]


async def test_a_key_longer_than_the_column_finds_nothing_it_begins_with(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Given a stored ref as long as the column allows (128 characters)
    stored = "Z" * 128
    async with transaction(sessions) as session:
        await session.execute(quarantine.insert(), [_row(1) | {"source_ref": stored}])
    async with transaction(sessions) as session:
        # When a longer ref that begins with it is looked up, beside the stored one
        longer = await _lookup(session, "source_ref", [stored + "-2"])
        same = await _lookup(session, "source_ref", [stored, stored + "-2"])
    # Then only the stored ref itself is found: the longer key is not cut to the column's width
    assert longer == set()
    assert same == {stored}
