"""SIGTERM to a serving API: a request already in flight finishes with its answer (uvicorn's
graceful shutdown), then the process exits."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import Backend
from tests.factories import PASSWORD
from tests.faults.servers import AIQLEADS, free_port, migrated, ready, wait_until
from tests.live import server_env

IN_FLIGHT = re.compile(r"^aiq_http_requests_in_flight(?:\{[^}]*\})? (\S+)$", re.MULTILINE)


def _in_flight(base: str) -> float:
    """aiq_http_requests_in_flight as /metrics reports it, not counting that scrape itself."""
    body = httpx.get(f"{base}/metrics", timeout=5).text
    return sum(float(v) for v in IN_FLIGHT.findall(body)) - 1


def test_a_request_in_flight_when_sigterm_arrives_completes(tmp_path: Path) -> None:
    # Given a serving API
    backend = migrated(Backend("sqlite", f"sqlite+aiosqlite:///{tmp_path}/api.db", None), tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "serve.log").open("w") as log:
        proc = subprocess.Popen(
            [*AIQLEADS, "serve", "--port", str(port)],
            env=server_env(backend), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(lambda: (r := ready(base)) is not None and r.status_code == 200, "/ready")

        # And a slow request under way: a sign-up whose body is still arriving
        body = json.dumps({"email": "late@example.com", "password": PASSWORD}).encode()
        rest = threading.Event()
        answers: list[httpx.Response] = []

        def chunks() -> Iterator[bytes]:
            yield body[:10]
            rest.wait(timeout=60)
            yield body[10:]

        def send() -> None:
            headers = {"Content-Type": "application/json"}
            answers.append(
                httpx.post(f"{base}/api/v1/auth/register", content=chunks(), headers=headers,
                           timeout=60)
            )  # fmt: skip

        sender = threading.Thread(target=send)
        sender.start()
        wait_until(lambda: _in_flight(base) >= 1, "the sign-up to reach the server")

        # When the server gets SIGTERM, and only then the rest of the body
        proc.send_signal(signal.SIGTERM)
        wait_until(lambda: ready(base) is None, "the server to stop taking new connections")
        rest.set()
        sender.join(timeout=60)

        # Then the request in flight was answered in full
        assert [a.status_code for a in answers] == [201], [a.text for a in answers]
        assert answers[0].json()["email"] == "late@example.com"
        # And the server exits once it has: uvicorn re-raises the SIGTERM it handled, so that
        # a supervisor sees the usual "ended by SIGTERM" status
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
        assert "Finished server process" in (tmp_path / "serve.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
