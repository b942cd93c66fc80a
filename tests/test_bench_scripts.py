"""Every benchmark script starts as documented (`python bench/NAME.py`) and explains itself:
a script that no longer imports (a renamed function, a file that hides a standard module)
fails here rather than on the day someone needs its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py"))


def test_there_are_benchmarks() -> None:
    assert "cart.py" in SCRIPTS and "geo.py" in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_benchmark_starts_and_prints_its_usage(script: str) -> None:
    # When the script is run as the README says, asking for its usage
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCH.parent,
        check=False,
    )
    # Then it imports everything it needs and prints its usage
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
