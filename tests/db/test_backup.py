"""`aiqleads db backup` and `db restore`, run as an operator runs them, on SQLite and on
PostgreSQL/PostGIS: what was there at the backup is there again after the restore, and what
came after is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aiqleads.config import Settings
from aiqleads.db import migrate
from aiqleads.db.backup import BackupError, backup, restore
from aiqleads.db.databases import drop_database, recreate_database
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Account, Lead
from tests.conftest import _POSTGRES_URL, Backend
from tests.factories import insert_leads, lead_row, make_account


@pytest.fixture
async def own_db(backend: Backend, tmp_path: Path) -> AsyncIterator[Settings]:
    """A database of this test's own (a restore replaces everything in it), migrated."""
    if backend.name == "sqlite":
        settings = backend.settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/live.db")
        name = None
    else:
        assert _POSTGRES_URL is not None
        name = f"aiq_backup_{uuid.uuid4().hex[:8]}"
        settings = backend.settings(database_url=await recreate_database(_POSTGRES_URL, name))
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    await engine.dispose()
    yield settings
    if name is not None:
        assert _POSTGRES_URL is not None
        await drop_database(_POSTGRES_URL, name)


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update({"AIQ_DATABASE_URL": settings.database_url, "AIQ_LOG_JSON": "false"})
    return subprocess.run(
        [sys.executable, "-m", "aiqleads", "db", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def _state(engine: AsyncEngine) -> tuple[list[tuple[str, str]], int, str | None]:
    async with engine.connect() as conn:
        accounts = [
            (r.email, r.tier)
            for r in await conn.execute(select(Account.email, Account.tier).order_by(Account.id))
        ]
        leads = int(await conn.scalar(select(func.count()).select_from(Lead)) or 0)
    return accounts, leads, await migrate.current_revision(engine)


async def test_a_backup_restores_what_was_there(
    own_db: Settings, tmp_path: Path, clock: FrozenClock, cipher: FieldCipher
) -> None:
    # Given a database with accounts and leads (points and encrypted contacts)
    engine = create_engine(own_db)
    sessions = session_factory(engine)
    try:
        first = await make_account(sessions, now=clock.now(), email="kept@example.com")
        rows = [lead_row(own_db, cipher, now=clock.now()) for _ in range(3)]
        await insert_leads(sessions, rows, now=clock.now())
        before = await _state(engine)
        # When it is backed up while the engine stays connected
        path = tmp_path / "backups" / "aiq.backup"
        done = _cli(own_db, "backup", str(path))
        assert done.returncode == 0, done.stderr
        assert "backed up to" in done.stdout and path.stat().st_size > 0
        # And changed afterwards
        await make_account(sessions, now=clock.now(), email="later@example.com")
        async with transaction(sessions) as session:
            row = await session.get(Account, first.id)
            assert row is not None
            row.tier = "enterprise"
        await insert_leads(sessions, [lead_row(own_db, cipher, now=clock.now())], now=clock.now())
        assert await _state(engine) != before
        await engine.dispose()
        # Then restoring it brings back exactly what was there
        done = _cli(own_db, "restore", "--yes", str(path))
        assert done.returncode == 0, done.stderr
        assert await _state(engine) == before
        # And the restored leads decrypt with the same keys
        async with sessions() as session:
            lead = await session.scalar(select(Lead).limit(1))
            assert lead is not None and lead.public_id in {r["public_id"] for r in rows}
    finally:
        await engine.dispose()


async def test_a_restore_refuses_a_file_that_is_not_a_backup_of_its_kind(
    own_db: Settings, tmp_path: Path
) -> None:
    # Given a file that is no backup, and a missing one
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    # When restoring them
    # Then each is refused with a reason, and the database is left alone
    with pytest.raises(BackupError, match="not a"):
        restore(own_db, junk)
    with pytest.raises(BackupError, match="no backup file"):
        restore(own_db, tmp_path / "missing.backup")
    done = _cli(own_db, "restore", "--yes", str(junk))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert backup(own_db, tmp_path / "ok.backup").bytes > 0
