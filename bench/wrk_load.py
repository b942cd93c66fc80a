"""Closed-loop HTTP load from wrk (Debian's `wrk` package, C and epoll), for `bench/http.py`.

    .venv/bin/python bench/wrk_load.py --help

A Python client on the same two cores as the server costs a few hundred microseconds of CPU per
request, which the server then lacks; wrk costs tens. It sends a fixed plan of requests (path
and Authorization header) in a cycle from a Lua script written here, and prints one line of JSON
from the script's `done` hook: requests answered, duration, answers other than 2xx/3xx, wrk's
error counts (failed connect, read and write operations, and answers that came after the
timeout, which wrk also counts as answered and leaves out of its latency histogram), and latency
percentiles (wrk's own histogram, in microseconds). The script has no `response` hook, which
would copy every body into Lua (a third of the load generator's CPU on heatmap answers): the
server's own counters give the answers by status. The Lua interface is wrk's SCRIPTING document
(request, done).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_MARK = "WRK_RESULT "

_LUA = """\
-- Written by bench/wrk_load.py: a cycle of GET requests.
local plan = {
%(plan)s
}
-- Each request formatted once, when the script loads, rather than at every send.
local raw = {}
for i, r in ipairs(plan) do
  raw[i] = wrk.format("GET", r[1], r[2] ~= "" and {Authorization = r[2]} or nil)
end
local n = #raw
local sent = 0

function request()
  sent = sent + 1
  return raw[(sent - 1) %% n + 1]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n%(mark)s{"requests": %%d, "duration_us": %%d, "not_2xx_3xx": %%d, '
    .. '"socket_errors": {"connect": %%d, "read": %%d, "write": %%d, "timeout": %%d}, '
    .. '"latency_us": {"p50": %%d, "p95": %%d, "p99": %%d, "max": %%d, "mean": %%.1f}}\\n',
    summary.requests, summary.duration, e.status,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
"""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run. `requests` answered, `not_ok` of them with a status other than 2xx/3xx;
    `socket_errors`: failed connect, read and write operations (not requests), and `timeout`,
    answers that came after the timeout (counted in `requests` too); latency in milliseconds
    over the answers in time; `cpu_seconds` is wrk's own user plus system time."""

    requests: int
    seconds: float
    not_ok: int
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]
    cpu_seconds: float


def wrk_binary() -> str:
    """The wrk executable. Raises SystemExit with the way to install it when it is missing."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk not found: install Debian's package (apt-get install wrk)")
    return found


def _lua_string(value: str) -> str:
    # Paths and bearer tokens are printable ASCII; anything else would need Lua escapes.
    if not value.isascii() or not value.isprintable() or '"' in value or "\\" in value:
        raise ValueError(f"not a plain ASCII string for the Lua plan: {value!r}")
    return f'"{value}"'


def _path(value: str) -> str:
    if not value.startswith("/") or any(c.isspace() for c in value):
        raise ValueError(f"not a request path (a '/' first, no spaces): {value!r}")
    return _lua_string(value)


def write_script(path: Path, plan: Sequence[tuple[str, str]]) -> None:
    """Write the Lua script that sends `plan` in a cycle: (path with its query, Authorization
    header value or "" for none). Raises ValueError for an empty plan, a path that does not
    start with '/' or holds a space, or a string that is not printable ASCII without quotes or
    backslashes."""
    if not plan:
        raise ValueError("the plan holds no request")
    rows = ",\n".join(f"  {{{_path(p)}, {_lua_string(a)}}}" for p, a in plan)
    path.write_text(_LUA % {"plan": rows, "mark": _MARK})


def parse_output(stdout: str) -> dict[str, Any]:
    """The JSON document the script's `done` hook printed. Raises ValueError when there is
    none (wrk failed before the end: its output says why)."""
    for line in stdout.splitlines():
        if line.startswith(_MARK):
            parsed: dict[str, Any] = json.loads(line[len(_MARK) :])
            return parsed
    raise ValueError(f"wrk printed no result:\n{stdout[-2000:]}")


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


async def run(
    url: str, script: Path, *, seconds: int, concurrency: int, timeout_s: int = 30
) -> WrkResult:
    """Drive `url` with the plan in `script` for `seconds` (whole seconds, >= 1) with
    `concurrency` connections on one wrk thread, each sending its next request when the last
    is answered. Raises ValueError for seconds or concurrency under 1, SystemExit when wrk is
    not installed, RuntimeError when it exits with an error (its output, which says why, in the
    message)."""
    if seconds < 1 or concurrency < 1:
        raise ValueError("seconds and concurrency must be at least 1")
    cpu_before = _children_cpu()
    proc = await asyncio.create_subprocess_exec(
        wrk_binary(),
        "-t1",
        f"-c{concurrency}",
        f"-d{seconds}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(script),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited with {proc.returncode}:\n{text[-2000:]}")
    doc = parse_output(text)
    latency = doc["latency_us"]
    return WrkResult(
        requests=int(doc["requests"]),
        seconds=doc["duration_us"] / 1e6,
        not_ok=int(doc["not_2xx_3xx"]),
        socket_errors={k: int(v) for k, v in doc["socket_errors"].items()},
        latency_ms={k: round(float(v) / 1e3, 2) for k, v in latency.items()},
        cpu_seconds=_children_cpu() - cpu_before,
    )


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print("a helper module: run bench/http.py")
