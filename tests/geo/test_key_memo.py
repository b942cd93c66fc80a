"""The memo of cache key inputs (`geo.key_memo`): what it gives is what a read would give at
that cutoff and instant, however time has moved; a commit of this process that moves a data
version (at its end, or inside a hold's own statement) sets it aside at once; and an entry is
read again after its seconds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.row_reads import SessionRows
from aiqleads.geo.key_memo import KeyMemo
from aiqleads.geo.repository.cache_inputs import KeyInputs, key_inputs
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import versions
from aiqleads.models import Lead
from tests.factories import agent, catalog_pages, hold_leads, insert_leads, lead_row

SCOPES = ["seattle"]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _read(
    sessions: async_sessionmaker[AsyncSession],
    *,
    cutoff: datetime | None,
    now: datetime,
    memo: KeyMemo | None = None,
) -> KeyInputs:
    async with sessions() as session:
        return await key_inputs(SessionRows(session), SCOPES, cutoff=cutoff, now=now, memo=memo)


async def _market(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    now: datetime,
) -> None:
    """Leads published an hour apart over the last ten hours and two in the next two, and
    holds ending every 30 minutes over the next three hours."""
    rows = [
        lead_row(settings, cipher, now=now, published_at=now + timedelta(hours=h))
        for h in range(-10, 3)
    ]
    await insert_leads(sessions, rows, now=now)
    held = [
        lead_row(settings, cipher, now=now, status="held", published_at=now - timedelta(days=1))
        for _ in range(6)
    ]
    await insert_leads(sessions, held, now=now)
    async with sessions() as session, session.begin():
        for n, row in enumerate(held):
            await session.execute(
                update(Lead)
                .where(Lead.public_id == row["public_id"])
                .values(held_until=now + timedelta(minutes=30 * (n + 1)))
            )


async def test_what_the_memo_gives_is_what_a_read_gives_at_that_cutoff_and_instant(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given a market whose window edge and lapsed holds move as time passes
    now = clock.now()
    await _market(sessions, settings, cipher, now)
    steps = [timedelta(minutes=m) for m in range(-90, 200, 17)]
    for windowed in (True, False):
        for first in steps:
            # When the memo is filled by a read at one instant (a window of 45 minutes)
            memo = KeyMemo(seconds=60.0, monotonic=FakeMonotonic())
            at = now + first
            cutoff = (at - timedelta(minutes=45)) if windowed else None
            await _read(sessions, cutoff=cutoff, now=at, memo=memo)
            hits = 0
            for later in steps:
                t = now + later
                c = (t - timedelta(minutes=45)) if windowed else None
                kept = memo.get(SCOPES, cutoff=c, now=t)
                # Then whatever it gives at a later (or earlier) instant is what a read gives
                if kept is not None:
                    hits += 1
                    assert kept == await _read(sessions, cutoff=c, now=t), (first, later)
            # And it gives at least the instant it was read at
            assert hits >= 1


async def test_each_tiers_window_keeps_its_own_entry(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given leads published an hour apart, so a 30-minute and a 90-minute window have
    # different edges
    now = clock.now()
    await _market(sessions, settings, cipher, now)
    memo = KeyMemo(seconds=60.0, monotonic=FakeMonotonic())
    cutoffs = {"pro": now - timedelta(minutes=30), "basic": now - timedelta(minutes=90)}
    # When agents of both tiers search, one after the other
    read = {
        tier: await _read(sessions, cutoff=c, now=now, memo=memo) for tier, c in cutoffs.items()
    }
    assert read["pro"].edge != read["basic"].edge
    # Then each tier's next search finds its own entry, as a read would give it, also when
    # its cutoff and instant come from two readings of the clock a few microseconds apart
    later = now + timedelta(microseconds=40)
    for tier, cutoff in cutoffs.items():
        assert memo.get(SCOPES, cutoff=cutoff, now=now) == read[tier]
        assert memo.get(SCOPES, cutoff=cutoff, now=later) == read[tier]


async def test_a_commit_of_this_process_that_moves_a_version_sets_the_memo_aside(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    now = clock.now()
    await insert_leads(sessions, [lead_row(settings, cipher, now=now)], now=now)
    memo = KeyMemo(seconds=60.0, monotonic=FakeMonotonic())
    before = await _read(sessions, cutoff=None, now=now, memo=memo)
    assert memo.get(SCOPES, cutoff=None, now=now) == before
    # When this process commits a new lead in the metro
    await insert_leads(sessions, [lead_row(settings, cipher, now=now)], now=now)
    # Then the memo no longer answers, and the next read has the new version
    assert memo.get(SCOPES, cutoff=None, now=now) is None
    after = await _read(sessions, cutoff=None, now=now, memo=memo)
    assert after.versions["seattle"] > before.versions["seattle"]
    assert memo.get(SCOPES, cutoff=None, now=now) == after


async def test_a_read_during_which_this_process_commits_is_not_kept_as_current(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    now = clock.now()
    memo = KeyMemo(seconds=60.0, monotonic=FakeMonotonic())
    token = memo.before_read()
    read = await _read(sessions, cutoff=None, now=now)
    # (a commit lands between the read and its keeping)
    await insert_leads(sessions, [lead_row(settings, cipher, now=now)], now=now)
    memo.put(SCOPES, read, cutoff=None, now=now, token=token)
    assert memo.get(SCOPES, cutoff=None, now=now) is None


async def test_an_entry_is_read_again_after_its_seconds(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    now = clock.now()
    tick = FakeMonotonic()
    memo = KeyMemo(seconds=1.0, monotonic=tick)
    found = await _read(sessions, cutoff=None, now=now, memo=memo)
    tick.now += 0.9
    assert memo.get(SCOPES, cutoff=None, now=now) == found
    tick.now += 0.2
    assert memo.get(SCOPES, cutoff=None, now=now) is None


def test_the_memo_refuses_what_it_cannot_keep() -> None:
    with pytest.raises(ValueError, match="seconds must be > 0"):
        KeyMemo(seconds=0)
    with pytest.raises(ValueError, match="max_entries"):
        KeyMemo(seconds=1, max_entries=0)


def test_the_least_recently_used_entry_goes_first() -> None:
    memo = KeyMemo(seconds=60.0, max_entries=2, monotonic=FakeMonotonic())
    now = datetime(2026, 6, 1, 12)
    inputs = {s: KeyInputs({s: 1}, None, None) for s in ("a", "b", "c")}
    for s in ("a", "b"):
        memo.put([s], inputs[s], cutoff=None, now=now, token=memo.before_read())
    assert memo.get(["a"], cutoff=None, now=now) is not None  # "b" is now the oldest used
    memo.put(["c"], inputs["c"], cutoff=None, now=now, token=memo.before_read())
    assert memo.get(["b"], cutoff=None, now=now) is None
    assert memo.get(["a"], cutoff=None, now=now) is not None
    assert memo.get(["c"], cutoff=None, now=now) is not None


async def test_a_hold_and_its_release_show_at_once_in_this_processs_searches(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    """A release bumps its metro's version inside its own statement on PostgreSQL (no bump at
    the commit): its commit must set the memo aside all the same."""
    assert settings.key_memo_seconds > 0
    now = clock.now()
    row = lead_row(settings, cipher, now=now, published_at=now - timedelta(days=1))
    await insert_leads(sessions, [row], now=now)
    _, headers = await agent(client, sessions, clock)

    async def status() -> Any:
        [item] = await catalog_pages(client, headers, {"metro": "seattle"})
        return item["status"]

    assert await status() == "available"
    generation = versions.generation()
    assert (await hold_leads(client, headers, [row["public_id"]]))["held"] == 1
    assert versions.generation() == generation + 1
    assert await status() == "held"
    res = await client.delete(f"/api/v1/cart/holds/{row['public_id']}", headers=headers)
    assert res.status_code == 204, res.text
    assert versions.generation() == generation + 2
    assert await status() == "available"
