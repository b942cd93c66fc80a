"""The task worker killed with SIGKILL in the middle of a batch of tasks, then started again:
every task still runs (the outbox keeps it until it is finished; one claimed by the dead worker
is run again once its lease lapses), none is dead-lettered, the outbox ends empty."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

from sqlalchemy import func, select

from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.models import TaskOutbox
from aiqleads.worker.builtin import ping
from tests.conftest import Backend
from tests.faults.servers import AIQLEADS, migrated, wait_until
from tests.live import server_env

TASKS = 300


def _enqueue(backend: Backend, notes: list[str]) -> None:
    async def go() -> None:
        engine = create_engine(backend.settings())
        try:
            async with transaction(session_factory(engine)) as session:
                for note in notes:
                    await ping.enqueue(session, note=note)
        finally:
            await engine.dispose()

    asyncio.run(go())


def _left(backend: Backend) -> int:
    """Outbox rows not yet finished (finished ones are deleted)."""

    async def go() -> int:
        engine = create_engine(backend.settings())
        try:
            async with engine.connect() as conn:
                return int(
                    (await conn.execute(select(func.count()).select_from(TaskOutbox))).scalar_one()
                )
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _pongs(log: Path) -> list[str]:
    notes = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("msg") == "pong":
                notes.append(entry["note"])
    return notes


def test_a_worker_killed_mid_batch_loses_no_task(tmp_path: Path) -> None:
    # Given a database with a batch of tasks waiting in the outbox
    backend = migrated(Backend("sqlite", f"sqlite+aiosqlite:///{tmp_path}/t.db", None), tmp_path)
    notes = [f"task-{n}" for n in range(TASKS)]
    _enqueue(backend, notes)
    env = server_env(backend, AIQ_LOG_JSON="true", AIQ_WORKER__LEASE_SECONDS="1")

    # When the worker is killed with SIGKILL once it has run part of them
    first_log = tmp_path / "worker-1.log"
    with first_log.open("w") as log:
        proc = subprocess.Popen(
            [*AIQLEADS, "worker"], env=env, stdout=log, stderr=log, cwd=tmp_path
        )
        wait_until(lambda: 0 < _left(backend) < TASKS or proc.poll() is not None, "some tasks done")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _left(backend) > 0  # it really was mid-batch

    # And another worker starts
    second_log = tmp_path / "worker-2.log"
    with second_log.open("w") as log:
        proc = subprocess.Popen(
            [*AIQLEADS, "worker"], env=env, stdout=log, stderr=log, cwd=tmp_path
        )
        try:
            wait_until(lambda: _left(backend) == 0, "the outbox to empty")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)

    # Then every task ran and was finished (the outbox is empty: none lost, none dead-lettered).
    # Delivery is at least once: a task the killed worker had started runs again once its
    # lease lapses (tasks are idempotent for that reason), so the count is not compared; how
    # many ran twice depends on what was in flight at the kill.
    ran = _pongs(first_log) + _pongs(second_log)
    assert set(ran) == set(notes)
