"""The HTTP load test's driver (`bench/wrk_load.py`) against a small local server: wrk sends
the plan as written, and the figures it hands back add up."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bench import wrk_load

from tests.debian_tools import debian_tool


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects
    # Headers and body go out as two writes: without TCP_NODELAY the second waits for the
    # client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    seen: Counter[tuple[str, str]]

    def do_GET(self) -> None:
        self.seen[(self.path, self.headers.get("Authorization", ""))] += 1
        if self.path == "/slow":
            time.sleep(1.5)
        status = 200 if self.path.startswith("/ok") else 404
        body = b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, Counter[tuple[str, str]]]]:
    seen: Counter[tuple[str, str]] = Counter()
    handler = type("Handler", (_Handler,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def test_wrk_sends_the_plan_in_a_cycle_and_counts_the_answers(
    server: tuple[str, Counter[tuple[str, str]]], tmp_path: Path
) -> None:
    debian_tool("wrk", "wrk")
    url, seen = server
    # Given a plan of three requests: two that answer 200 (one of them without a token), one 404
    plan = [("/ok?a=1&b=2", "Bearer t1"), ("/missing", "Bearer t2"), ("/ok/x", "")]
    script = tmp_path / "plan.lua"
    wrk_load.write_script(script, plan)
    # When wrk drives it on one connection for 3 seconds (in 1, a full run of the suite on the
    # other core once left the server no time to answer even one request)
    result = asyncio.run(wrk_load.run(url, script, seconds=3, concurrency=1))
    # Then it counts the answers, the 404s among them, and no request went unanswered (how
    # many depends on the machine: at least one round of the plan)
    assert result.requests >= 3
    # one connection sends the plan in order: one 404 in three, give or take the cycle's end
    assert abs(result.requests - 3 * result.not_ok) <= 3
    assert not any(result.socket_errors.values())
    # and the server saw exactly the paths and headers of the plan, as often as wrk says
    assert set(seen) == set(plan)
    assert abs(sum(seen.values()) - result.requests) <= 1  # one may be in flight at the end
    lat = result.latency_ms
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert result.seconds >= 3 and result.cpu_seconds > 0


def test_an_answer_after_the_timeout_is_counted_as_answered_and_as_timed_out(
    server: tuple[str, Counter[tuple[str, str]]], tmp_path: Path
) -> None:
    # wrk's own accounting, which bench/http_load.py's figures rely on
    debian_tool("wrk", "wrk")
    url, _ = server
    script = tmp_path / "plan.lua"
    wrk_load.write_script(script, [("/slow", "")])
    # (the answer takes 1.5 s; 3 s leave it room on a busy machine)
    result = asyncio.run(wrk_load.run(url, script, seconds=3, concurrency=1, timeout_s=1))
    assert result.requests >= 1
    assert result.socket_errors["timeout"] == result.requests


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('/a"b', "plain ASCII"),
        ("/a\\b", "plain ASCII"),
        ("/caf\u00e9", "plain ASCII"),
        ("/a\nb", "request path"),
        ("/a b", "request path"),
        ("a", "request path"),
    ],
)
def test_a_path_wrk_cannot_send_as_written_is_refused(
    bad: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=message):
        wrk_load.write_script(tmp_path / "plan.lua", [(bad, "")])


def test_a_token_lua_cannot_hold_as_written_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plain ASCII"):
        wrk_load.write_script(tmp_path / "plan.lua", [("/ok", 'Bearer "x"')])


def test_an_empty_plan_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no request"):
        wrk_load.write_script(tmp_path / "plan.lua", [])


def test_output_without_a_result_is_an_error_that_shows_it() -> None:
    with pytest.raises(ValueError, match="unable to connect"):
        wrk_load.parse_output("unable to connect to 127.0.0.1:1 Connection refused")
