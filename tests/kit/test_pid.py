"""The cached process id: right in the parent and in a forked child, and what prometheus_client's
multiprocess files are named by."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from aiqleads.kit.pid import current_pid


def test_the_cached_id_is_this_processes() -> None:
    assert current_pid() == os.getpid()


def test_a_forked_child_answers_its_own_id() -> None:
    # Given a fork
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, which the parent's coverage misses
        os.write(write, f"{current_pid()} {os.getpid()}".encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    cached, actual = os.read(read, 64).decode().split()
    os.close(read)
    # Then the child's cached id is the child's, not the parent's
    assert cached == actual == str(child)


def test_metric_files_are_named_by_the_process_that_wrote_them(tmp_path: Path) -> None:
    # Given the application's metrics in multiprocess mode, in a process that forks after
    # counting (as a pre-forking server would)
    script = textwrap.dedent(
        """
        import os
        from aiqleads.observability.metrics import LOGINS
        LOGINS.labels("ok").inc()
        child = os.fork()
        if child == 0:
            LOGINS.labels("ok").inc(5)
            os._exit(0)
        os.waitpid(child, 0)
        LOGINS.labels("ok").inc()
        print(os.getpid(), child)
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    parent, child = out.stdout.split()
    # Then each process counted in its own file: the child noticed the fork, so it neither
    # wrote into the parent's file nor carried the parent's count into its own
    counters = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("counter_"))
    assert counters == sorted([f"counter_{parent}.db", f"counter_{child}.db"])
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(tmp_path))  # type: ignore[no-untyped-call]
    total = registry.get_sample_value("aiq_logins_total", {"outcome": "ok"})
    assert total == 2 + 5
