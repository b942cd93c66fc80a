"""`aiqleads worker` as an operator runs it: against the test database (and Redis, when the run
has one: Dramatiq), it runs an enqueued task and the schedule, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.models import TaskOutbox, TaskSchedule
from aiqleads.worker.builtin import ping
from tests.conftest import TEST_ENCRYPTION_KEYS, TEST_SECRET, Backend

AIQLEADS = [sys.executable, "-m", "aiqleads"]
REDIS_URL = os.environ.get("AIQ_TEST_REDIS_URL")


def test_worker_help() -> None:
    done = subprocess.run(
        [*AIQLEADS, "worker", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Dramatiq" in done.stdout and "SIGTERM" in done.stdout
    assert "--processes" in done.stdout and "--no-schedule" in done.stdout


async def _state(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with transaction(sessions) as session:
        queued = await session.scalar(select(func.count()).select_from(TaskOutbox))
        scheduled = await session.scalar(
            select(func.count()).where(TaskSchedule.name == "cart.sweep_holds")
        )
    return int(queued or 0), int(scheduled or 0)


def _nice(pid: int) -> int:
    """A process's nice value (proc(5): field 19 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])  # fields 3, 4, … follow the command's name


@pytest.mark.parametrize("kind", ["embedded", "dramatiq"])
async def test_the_worker_runs_an_enqueued_task_and_stops_on_sigterm(
    kind: str, backend: Backend, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    if kind == "dramatiq" and not REDIS_URL:
        pytest.skip("needs AIQ_TEST_REDIS_URL")
    # Given a task waiting in the outbox
    async with transaction(sessions) as session:
        await ping.enqueue(session, note="from the test")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update(
        AIQ_DATABASE_URL=backend.database_url,
        AIQ_SECRET_KEY=TEST_SECRET,
        AIQ_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS,
        AIQ_LOG_JSON="false",
        AIQ_WORKER__BACKEND=kind,
        AIQ_WORKER__POLL_SECONDS="0.2",
        AIQ_WORKER__NAMESPACE=f"aiq-test-{uuid.uuid4().hex[:8]}",
    )
    if kind == "dramatiq":
        assert REDIS_URL
        env["AIQ_REDIS_URL"] = REDIS_URL
    # When the worker runs
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        proc = await asyncio.create_subprocess_exec(
            *AIQLEADS,
            "worker",
            "--processes",
            "1",
            "--threads",
            "2",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            # Then the task runs (its row goes) and the schedule enqueues and runs the sweeper
            deadline = time.monotonic() + 90
            while await _state(sessions) != (0, 1):
                if proc.returncode is not None or time.monotonic() > deadline:
                    raise AssertionError(f"worker did not run the task:\n{log_path.read_text()}")
                await asyncio.sleep(0.1)
            # And it runs at a CPU priority lowered by AIQ_WORKER__NICE (10), its processes too
            assert _nice(proc.pid) == min(19, os.nice(0) + 10)
            # And SIGTERM stops it cleanly
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    output = log_path.read_text()
    assert code == 0, output
    assert "pong" in output
