"""A real `aiqleads serve` on the test database, as an operator runs it (one or more worker
processes), for tests that need several processes or a browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import TEST_ENCRYPTION_KEYS, TEST_HASHING, TEST_SECRET, Backend


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(backend: Backend, **extra: str) -> dict[str, str]:
    """The environment of a server on the test database (and Redis, when the run has it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update(
        {
            "AIQ_DATABASE_URL": backend.database_url,
            "AIQ_SECRET_KEY": TEST_SECRET,
            "AIQ_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
            "AIQ_LOG_JSON": "false",
            "AIQ_RATE_LIMIT__ENABLED": "false",  # tests/ratelimit switch it on
            **TEST_HASHING,
            **extra,
        }
    )
    if backend.redis_url:
        env["AIQ_REDIS_URL"] = backend.redis_url
    return env


@contextmanager
def serve(backend: Backend, log_dir: Path, *, workers: int = 1, **env: str) -> Iterator[str]:
    """Start `aiqleads serve` with `workers` processes; yield its base URL once /ready answers;
    stop it afterwards (its log is left in `log_dir`)."""
    port = _free_port()
    args = [sys.executable, "-m", "aiqleads", "serve", "--port", str(port)]
    if workers > 1:
        args += ["--workers", str(workers)]
    with (log_dir / f"serve-{port}.log").open("w") as log:
        proc = subprocess.Popen(
            args, env=server_env(backend, **env), stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(400):
                try:
                    if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            else:
                raise RuntimeError(f"server did not start; see {log_dir}")
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def access_lines(log_dir: Path, base: str) -> list[dict[str, object]]:
    """The access-log lines (JSON) a server started by `serve` with AIQ_LOG_JSON=true wrote so
    far: one per request, with the worker's `pid`."""
    import json

    port = base.rsplit(":", 1)[1]
    lines = []
    for line in (log_dir / f"serve-{port}.log").read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "aiqleads.access":
                lines.append(entry)
    return lines


def fresh_get(url: str, **kwargs: object) -> httpx.Response:
    """A GET on a new connection, so successive calls may reach different worker processes."""
    with httpx.Client(timeout=10, headers={"Connection": "close"}) as client:
        return client.get(url, **kwargs)  # type: ignore[arg-type]
