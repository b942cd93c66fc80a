"""The `aiqleads` command, run as a user runs it: in a subprocess, against a real database."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aiqleads.db import migrate
from aiqleads.db.databases import recreate_database
from tests.conftest import _POSTGRES_URL, Backend

AIQLEADS = [sys.executable, "-m", "aiqleads"]


def _env(database_url: str, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update({"AIQ_DATABASE_URL": database_url, "AIQ_LOG_JSON": "false", **extra})
    if redis_url:
        env["AIQ_REDIS_URL"] = redis_url
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        AIQLEADS + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server_env(backend: Backend, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A database of its own for the CLI to set up: a new SQLite file or PostgreSQL database."""
    if backend.name == "sqlite":
        yield _env(f"sqlite+aiosqlite:///{tmp_path}/demo.db")
        return
    import asyncio

    assert _POSTGRES_URL is not None
    url = asyncio.run(recreate_database(_POSTGRES_URL, f"aiq_cli_{uuid.uuid4().hex[:8]}"))
    yield _env(url, backend.redis_url)


@pytest.mark.slow
def test_demo_sets_up_serves_and_its_printed_accounts_work(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    # When the demo is prepared without serving
    first = _run(["demo", "--no-serve"], server_env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "loaded 21613 sample leads" in first.stdout
    # Then it prints one account per tier plus an admin, with passwords
    creds = dict(re.findall(r"│ (\S+@example\.com)\s+│ (\S+)\s+│", first.stdout))
    assert set(creds) == {
        "admin@example.com",
        "basic@example.com",
        "pro@example.com",
        "enterprise@example.com",
    }
    # And a second run keeps the data, issuing new passwords
    second = _run(["demo", "--no-serve"], server_env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "sample not reloaded" in second.stdout
    creds = dict(re.findall(r"│ (\S+@example\.com)\s+│ (\S+)\s+│", second.stdout))

    # When the server runs on those settings
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [*AIQLEADS, "serve", "--port", str(port)],
        env=server_env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        ready = httpx.get(f"{base}/ready", timeout=5).json()
        assert ready["status"] == "ok"
        assert ("redis" in ready["checks"]) == ("AIQ_REDIS_URL" in server_env)
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "basic@example.com", "password": creds["basic@example.com"]},
            timeout=5,
        ).json()["access_token"]
        page = httpx.get(
            f"{base}/api/v1/leads",
            params={"zip": "98178", "limit": 5},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).json()
        assert len(page["items"]) == 5
        assert all(i["zip_code"] == "98178" and i["access"] == "preview" for i in page["items"])
        assert httpx.get(f"{base}/", timeout=5).text.startswith("<!doctype html>")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_users_create_and_clear_errors(tmp_path: Path) -> None:
    env = _env(f"sqlite+aiosqlite:///{tmp_path}/u.db")
    assert _run(["db", "upgrade"], env, tmp_path).returncode == 0
    ok = _run(
        [
            "users",
            "create",
            "--email",
            "op@example.com",
            "--password",
            "long enough pw",
            "--role",
            "admin",
            "--tier",
            "enterprise",
        ],
        env,
        tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert "created op@example.com (admin, enterprise)" in ok.stdout
    dup = _run(
        ["users", "create", "--email", "op@example.com", "--password", "long enough pw"],
        env,
        tmp_path,
    )
    assert dup.returncode == 1
    assert "exists" in dup.stderr and "Traceback" not in dup.stderr
    bad = _run(
        ["users", "create", "--email", "nope", "--password", "long enough pw"], env, tmp_path
    )
    assert bad.returncode == 1
    assert "email" in bad.stderr and "Traceback" not in bad.stderr
    listed = _run(["users", "list"], env, tmp_path)
    assert "op@example.com" in listed.stdout
    current = _run(["db", "current"], env, tmp_path)
    head = migrate.head_revision()
    assert f"current: {head}  head: {head}" in current.stdout


def test_demo_refuses_to_run_in_production(tmp_path: Path) -> None:
    env = _env(
        f"sqlite+aiosqlite:///{tmp_path}/p.db",
        AIQ_ENV="production",
        AIQ_SECRET_KEY="p" * 40,
        AIQ_ENCRYPTION_KEYS="prod:" + "A" * 43 + "=",
    )
    res = _run(["demo", "--no-serve"], env, tmp_path)
    assert res.returncode == 1
    assert "not in production" in res.stderr
