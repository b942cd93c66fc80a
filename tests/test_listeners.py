"""A socket per API worker (aiqleads/listeners.py): connections opened together are spread
over the workers, and a taken address stops the server with a clear error."""

from __future__ import annotations

import pickle
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from uvicorn.config import STARTUP_FAILURE

from aiqleads import listeners
from tests.conftest import Backend
from tests.live import access_lines, serve, server_env

pytestmark = pytest.mark.skipif(
    not listeners.SUPPORTED, reason="a socket per worker is Linux's (SO_REUSEPORT balancing)"
)

CONNECTIONS = 32


def test_each_worker_unpickles_a_socket_of_its_own_on_the_held_address() -> None:
    # Given the supervisor holding a free port (0: the system picks it)
    with listeners.hold("127.0.0.1", 0) as held:
        port = held.getsockname()[1]
        sockets = listeners.SocketPerWorker("127.0.0.1", port, 16)
        assert sockets == []  # the supervisor itself listens on nothing
        # When two workers unpickle what they were given
        # (as uvicorn's spawned worker processes do: S301 is about untrusted bytes, not these)
        first = pickle.loads(pickle.dumps(sockets))  # noqa: S301
        second = pickle.loads(pickle.dumps(sockets))  # noqa: S301
        try:
            # Then each has its own socket, both listening on the held address
            assert len(first) == len(second) == 1 and first[0] is not second[0]
            assert first[0].getsockname() == second[0].getsockname() == ("127.0.0.1", port)
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
        finally:
            for sock in (*first, *second):
                sock.close()


def test_an_address_something_listens_on_is_not_held() -> None:
    # Given another program listening on a port (without SO_REUSEPORT)
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        # Then the supervisor cannot hold it: its workers would otherwise share it silently
        with pytest.raises(OSError):
            listeners.hold("127.0.0.1", port)


def test_a_worker_that_cannot_listen_exits_as_a_failed_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an address another program listens on without SO_REUSEPORT
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        # When a worker unpickles its socket for it
        with pytest.raises(SystemExit) as exited:
            pickle.loads(pickle.dumps(listeners.SocketPerWorker("127.0.0.1", port, 16)))  # noqa: S301
    # Then it exits with uvicorn's start-up failure status (its supervisor then stops rather
    # than start it again and again), saying why
    assert exited.value.code == STARTUP_FAILURE
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_a_taken_address_stops_serving_with_the_reason(backend: Backend, tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "aiqleads", "serve", "--workers", "2", "--port", str(port)],
            env=server_env(backend),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == STARTUP_FAILURE
    assert f"cannot listen on 127.0.0.1:{port}" in done.stdout + done.stderr


@pytest.mark.slow
def test_connections_opened_together_are_spread_over_the_workers(
    backend: Backend, engine: object, tmp_path: Path
) -> None:
    # Given a server of two workers, both idle
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with serve(backend, tmp_path, workers=2, AIQ_LOG_JSON="true", TMPDIR=str(scratch)) as base:
        # (their metrics in a folder the server made for them)
        assert len(list(scratch.glob("aiq-metrics-*"))) == 1
        host, port = base.removeprefix("http://").split(":")
        # When 32 connections are opened at once (as a load balancer's pool or wrk opens
        # them), and only then each sends a request
        conns = [
            socket.create_connection((host, int(port)), timeout=10) for _ in range(CONNECTIONS)
        ]
        try:
            for conn in conns:
                conn.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            answers = [_read_all(conn) for conn in conns]
        finally:
            for conn in conns:
                conn.close()
        assert all(a.startswith(b"HTTP/1.1 200") for a in answers)
        # (and none names the server's software)
        assert not any(b"\r\nserver:" in a.lower() for a in answers)
        by_worker = Counter(
            e["pid"] for e in access_lines(tmp_path, base) if e["route"] == "/health"
        )
    # Then both workers answered a share of them (one shared socket once gave one worker
    # nearly all: the first to wake accepted every connection queued); with a fair hash,
    # fewer than 4 of 32 on one side happens about once in 100,000 runs
    assert sum(by_worker.values()) == CONNECTIONS
    assert len(by_worker) == 2 and min(by_worker.values()) >= 4, by_worker
    # And the metrics folder went with the server
    assert list(scratch.glob("aiq-metrics-*")) == []


def _read_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
