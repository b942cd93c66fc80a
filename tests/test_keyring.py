"""`aiqleads keys rotate`: every encrypted value moves to the first key, resumably."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.db.reencrypt import Page
from aiqleads.ingestion.payloads import seal, unseal
from aiqleads.keyring import rotate
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead, Quarantine
from tests.factories import insert_leads, lead_row

CONTACT = ("owner_name_enc", "owner_phone_enc", "owner_email_enc", "contacts_enc")


class Interrupted(Exception):
    pass


def _quarantine_row(raw: dict[str, Any], n: int, clock: FrozenClock) -> Quarantine:
    return Quarantine(
        source="test",
        source_ref=str(n),
        metro=None,
        stage="validate",
        reason="price_implausible",
        reasons=["price_implausible: test"],
        raw=raw,
        payload_hash=f"{n:064d}",
        attempts=1,
        created_at=clock.now(),
    )


async def _stored(sessions: async_sessionmaker[AsyncSession]) -> tuple[list[Any], list[Any]]:
    async with sessions() as session:
        leads = (await session.execute(select(*(getattr(Lead, c) for c in CONTACT)))).all()
        raws = (await session.scalars(select(Quarantine.raw).order_by(Quarantine.id))).all()
    return [v for row in leads for v in row if v is not None], list(raws)


async def test_rotation_moves_everything_to_the_first_key_and_resumes(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FrozenClock
) -> None:
    # Given leads and quarantined payloads encrypted under the old key t1, and one payload
    # stored in clear before payloads were sealed
    ring = FieldCipher(settings.encryption_keys)  # "t2:…,t1:…": t2 encrypts
    old = FieldCipher(settings.encryption_keys.split(",")[1])
    assert (ring.primary_key_id, old.primary_key_id) == ("t2", "t1")
    rows = [lead_row(settings, old, now=clock.now(), owner_name=f"Owner {i}") for i in range(5)]
    await insert_leads(sessions, rows, now=clock.now())
    payloads = [
        {"record": {"owner": f"Quarantined {i}", "phone": "+12065550100"}} for i in range(3)
    ]
    async with transaction(sessions) as session:
        session.add_all(
            [_quarantine_row(seal(old, p), i, clock) for i, p in enumerate(payloads[:2])]
            + [_quarantine_row(payloads[2], 2, clock)]
        )
    before_values, _ = await _stored(sessions)
    plain = sorted(ring.decrypt(v) or "" for v in before_values)

    # When a rotation is interrupted after its first batch
    def stop(table: str, page: Page) -> None:
        raise Interrupted(table)

    with pytest.raises(Interrupted):
        await rotate(sessions, ring, batch_size=2, on_batch=stop)
    values, _ = await _stored(sessions)
    assert 0 < sum(v.startswith("t2:") for v in values) < len(values)
    # And run again to the end
    report = await rotate(sessions, ring, batch_size=2)

    # Then every value is under t2, and reads the same with t2 alone
    values, raws = await _stored(sessions)
    assert all(v.startswith("t2:") for v in values)
    only_new = FieldCipher(settings.encryption_keys.split(",")[0])
    assert sorted(only_new.decrypt(v) or "" for v in values) == plain
    assert [set(r) for r in raws] == [{"sealed"}] * 3
    assert [unseal(only_new, r) for r in raws] == payloads
    # And the second run rewrote only what the first had not
    assert report.read["leads"] == 5 and 0 < report.rewritten["leads"] < 5
    assert report.rewritten["quarantine"] == 3
    # And a third run finds nothing to do
    again = await rotate(sessions, ring, batch_size=2)
    assert sum(again.rewritten.values()) == 0


async def test_the_command_rotates_and_names_a_missing_key(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
    engine: object,
) -> None:
    # Given a lead under t1
    old = FieldCipher(settings.encryption_keys.split(",")[1])
    await insert_leads(sessions, [lead_row(settings, old, now=clock.now())], now=clock.now())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update({"AIQ_DATABASE_URL": settings.database_url, "AIQ_LOG_JSON": "false"})

    def run(keys: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aiqleads", "keys", "rotate", "--json"],
            env={**env, "AIQ_ENCRYPTION_KEYS": keys},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    # When rotated with a ring that lacks t1, the command refuses, naming the key
    missing = run(settings.encryption_keys.split(",")[0])
    assert missing.returncode == 1 and "'t1'" in missing.stderr
    assert "Traceback" not in missing.stderr
    # Then with the whole ring it rotates
    done = run(settings.encryption_keys)
    assert done.returncode == 0, done.stderr
    assert '"leads": 1' in done.stdout
    async with sessions() as session:
        stored = await session.scalar(select(Lead.owner_name_enc))
    assert stored is not None and stored.startswith("t2:")
