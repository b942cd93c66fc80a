"""Throwaway Redis and PostgreSQL servers, each in a directory of its own, for the fault tests:
stopping or restarting them never touches the servers the rest of the suite shares. Started with
the binaries scripts/services.sh uses (redis-server on PATH; PostgreSQL 15 in PG_BIN)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import Backend
from tests.live import server_env

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
TIMEOUT = 60.0  # seconds to wait for a server to start or stop; a hung one fails the test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(done: object, what: str, timeout: float = TIMEOUT) -> None:
    """Poll `done()` (a callable returning truthy) until it holds; RuntimeError naming `what`
    after `timeout` seconds. Not a timed assertion: the bound only stops a hung server."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


@dataclass
class OwnRedis:
    directory: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with (self.directory / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.directory)],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(self._answers, "redis-server to answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=TIMEOUT)
        self.proc = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def own_redis(directory: Path) -> Iterator[OwnRedis]:
    """A Redis of this test's own on a free port; stopped at the end whatever happened."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/services.sh installs it)")
    directory.mkdir(parents=True, exist_ok=True)
    redis = OwnRedis(directory, free_port())
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


def _as_pg_user(args: list[str]) -> list[str]:
    # initdb refuses to run as root: scripts/services.sh runs it as `postgres` then, as here.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class OwnPostgres:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(self.directory), *args]),
            check=True, capture_output=True, timeout=TIMEOUT,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self.pg_ctl(
            "-l", str(self.directory / "server.log"), "-w", "-t", "60", "start", "-o", options
        )

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-w", "stop")


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    """A PostgreSQL cluster of this test's own (initdb in a new directory under /tmp, which the
    `postgres` user can reach when the tests run as root), stopped and removed at the end."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL is not installed in {PG_BIN} (scripts/services.sh installs it)")
    root = Path(tempfile.mkdtemp(prefix="aiq-faults-pg."))
    root.chmod(0o755)
    directory = root / "pg"
    directory.mkdir()
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    subprocess.run(
        _as_pg_user([str(PG_BIN / "initdb"), "-D", str(directory), "-U", "postgres",
                     "--auth=trust", "-E", "UTF8", "--no-locale"]),
        check=True, capture_output=True, timeout=TIMEOUT,
    )  # fmt: skip
    pg = OwnPostgres(directory, free_port())
    pg.start()
    try:
        yield pg
    finally:
        subprocess.run(
            _as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(directory), "-m", "immediate", "stop"]),
            capture_output=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


AIQLEADS = [sys.executable, "-m", "aiqleads"]


def aiqleads(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run an `aiqleads` command to its end; its output is in the result."""
    return subprocess.run(
        AIQLEADS + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def ready(base: str) -> httpx.Response | None:
    """GET /ready, or None when nothing answers."""
    try:
        return httpx.get(f"{base}/ready", timeout=5)
    except httpx.TransportError:
        return None


def migrated(backend: Backend, cwd: Path) -> Backend:
    """`backend` after `aiqleads db upgrade` on it (a server does not migrate by itself)."""
    done = aiqleads(["db", "upgrade"], server_env(backend), cwd)
    assert done.returncode == 0, done.stderr
    return backend
