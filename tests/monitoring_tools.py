"""Debian's promtool and amtool for the tests (scripts/test.sh installs the packages
`prometheus` and `prometheus-alertmanager` when missing)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "deploy" / "monitoring"
ALERTS = MONITORING / "alerts.yml"


def tool(name: str) -> str:
    """The path of a Debian tool, or skip the test (fail when the test command promised the
    tools: AIQ_TEST_REQUIRE_SERVICES=1)."""
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("AIQ_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is missing: scripts/test.sh installs it (Debian package)")
    pytest.skip(f"{name} is not installed (Debian: prometheus / prometheus-alertmanager)")
