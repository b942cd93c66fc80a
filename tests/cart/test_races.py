"""Many agents racing for the same leads: each lead ends held by exactly one agent.

In one process with many connections (SQLite and PostgreSQL), and on PostgreSQL through a real
server of several worker processes.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Hold, Lead
from aiqleads.models.enums import Tier
from tests.conftest import Backend
from tests.factories import PASSWORD, insert_leads, lead_row, make_account
from tests.live import serve

AGENTS, LEADS = 50, 10


async def _world(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> tuple[list[str], list[str]]:
    rows = [lead_row(settings, cipher, now=clock.now()) for _ in range(LEADS)]
    await insert_leads(sessions, rows, now=clock.now())
    emails = []
    for n in range(AGENTS):
        tier = (Tier.BASIC, Tier.PRO, Tier.ENTERPRISE)[n % 3]
        emails.append((await make_account(sessions, now=clock.now(), tier=tier)).email)
    return emails, [str(r["public_id"]) for r in rows]


async def _race(client: httpx.AsyncClient, emails: list[str], ids: list[str]) -> list[Any]:
    async def token(email: str) -> dict[str, str]:
        res = await client.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        )
        assert res.status_code == 200, res.text
        return {"Authorization": f"Bearer {res.json()['access_token']}"}

    # Sign-ins one by one (password hashing is the slow part); then the race itself
    headers = [await token(e) for e in emails]

    async def grab(n: int) -> Any:
        order = ids[:]
        random.Random(n).shuffle(order)  # each agent reaches for the leads in its own order
        res = await client.post("/api/v1/cart/holds", json={"lead_ids": order}, headers=headers[n])
        assert res.status_code == 200, res.text
        return res.json()

    return list(await asyncio.gather(*(grab(n) for n in range(len(emails)))))


async def _check(sessions: async_sessionmaker[AsyncSession], answers: list[Any]) -> None:
    won = Counter(i["lead_id"] for a in answers for i in a["items"] if i["held"])
    refused = Counter(i["refused"] for a in answers for i in a["items"] if not i["held"])
    # Each lead was won exactly once; every other attempt was told someone else holds it
    assert len(won) == LEADS and set(won.values()) == {1}
    assert refused == {"held_by_other": AGENTS * LEADS - LEADS}
    async with sessions() as session:
        leads = (await session.execute(select(Lead.status, Lead.held_by))).all()
        holds = (await session.execute(select(Hold.lead_id, Hold.account_id))).all()
    assert {s for s, _ in leads} == {"held"}
    assert len(holds) == LEADS and len({lead for lead, _ in holds}) == LEADS
    assert {(a) for _, a in holds} == {h for _, h in leads}


async def test_agents_racing_in_one_process_win_each_lead_once(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    emails, ids = await _world(sessions, settings, cipher, clock)
    await _check(sessions, await _race(client, emails, ids))


@pytest.mark.postgres_only
async def test_agents_racing_through_several_server_processes_win_each_lead_once(
    backend: Backend,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    tmp_path: Path,
) -> None:
    if backend.name != "postgres":
        pytest.skip("several processes need PostgreSQL")
    emails, ids = await _world(sessions, settings, cipher, clock)
    with serve(backend, tmp_path, workers=3) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            answers = await _race(client, emails, ids)
    await _check(sessions, answers)
