"""Helpers the HTTP benchmarks share: start `aiqleads serve` (and `aiqleads worker`), wait for
it, read its CPU time and memory from /proc, summarise latencies. Not a benchmark itself
(`bench/http.py` and `bench/http_throughput.py` use it).

    .venv/bin/python bench/serving.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    env: dict[str, str], port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    """`aiqleads serve` on 127.0.0.1:`port` with `workers` processes, its output appended to
    `log` (as a process supervisor would keep it)."""
    args = [sys.executable, "-m", "aiqleads", "serve", "--port", str(port)]
    if workers > 1:
        args += ["--workers", str(workers)]
    with log.open("ab") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`aiqleads worker` (one Dramatiq process, its relay and scheduler: the deployment's
    background half), its output appended to `log`."""
    args = [sys.executable, "-m", "aiqleads", "worker", "--processes", "1"]
    with log.open("ab") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop_server(proc: subprocess.Popen[bytes], *, grace_s: float = 30.0) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within `grace_s` seconds (so a
    run never leaves a server or worker behind for the next one)."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


async def wait_ready(base: str, proc: subprocess.Popen[bytes], *, seconds: float = 60) -> None:
    """Poll `/ready` until it answers 200. Raises RuntimeError if the server exits first or is
    not ready within `seconds`."""
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        for _ in range(int(seconds * 10)):
            if proc.poll() is not None:
                raise RuntimeError("server exited during start-up; see its log")
            try:
                if (await client.get("/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not become ready")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn's supervisor and its workers), from
    /proc/PID/task/TID/children (proc(5))."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far, in seconds (proc(5): /proc/PID/stat
    fields 14 and 15, in clock ticks). 0 for a process that has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by `pid` and its descendants that are still running."""
    return sum(cpu_seconds(p) for p in process_tree(pid))


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MiB (/proc/PID/status VmRSS), None if it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def percentiles(samples: list[float]) -> dict[str, float]:
    """Count, p50/p95/p99 and max of latencies given in seconds, reported in milliseconds
    (inclusive quantiles, Python's `statistics.quantiles`). Empty input: the count alone."""
    if len(samples) < 2:
        return {"n": len(samples)}
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "n": len(ordered),
        "p50_ms": round(q[49] * 1e3, 2),
        "p95_ms": round(q[94] * 1e3, 2),
        "p99_ms": round(q[98] * 1e3, 2),
        "max_ms": round(ordered[-1] * 1e3, 2),
    }


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print("a helper module: run bench/http.py or bench/http_throughput.py")
