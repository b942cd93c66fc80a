"""/metrics of a server with several worker processes reports their sum, whichever answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.conftest import Backend
from tests.live import access_lines, fresh_get, serve

pytestmark = pytest.mark.slow


def _count(body: str, route: str) -> float:
    labels = f'method="GET",route="{re.escape(route)}",status="200"'
    pattern = rf"^aiq_http_requests_total\{{{labels}\}} (\S+)$"
    found = re.search(pattern, body, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_two_workers_report_summed_counts(backend: Backend, engine: object, tmp_path: Path) -> None:
    # Given a server of two workers
    with serve(backend, tmp_path, workers=2, AIQ_LOG_JSON="true") as base:
        # When /health is called on new connections until both workers answered it, 20 times
        # at least
        calls = 0
        pids: set[object] = set()
        while (len(pids) < 2 or calls < 20) and calls < 400:
            assert fresh_get(f"{base}/health").status_code == 200
            calls += 1
            pids = {e["pid"] for e in access_lines(tmp_path, base) if e["route"] == "/health"}
        assert len(pids) == 2, "one worker answered every request; the test proves nothing"
        # Then every scrape, whichever worker answers it, counts every call of both workers
        scrapes = [fresh_get(f"{base}/metrics").text for _ in range(6)]
        readers = {e["pid"] for e in access_lines(tmp_path, base) if e["route"] == "/metrics"}
    assert [_count(body, "/health") for body in scrapes] == [float(calls)] * 6
    # (the /ready probes of start-up and the scrapes are counted too, under their own routes)
    assert all(_count(body, "/ready") >= 1 for body in scrapes)
    assert readers, "the scrapes reached a worker"
