"""Debian's promtool and amtool for the tests (scripts/test.sh installs the packages
`prometheus` and `prometheus-alertmanager` when missing)."""

from __future__ import annotations

from pathlib import Path

from tests.debian_tools import debian_tool

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "deploy" / "monitoring"
ALERTS = MONITORING / "alerts.yml"


def tool(name: str) -> str:
    """The path of promtool, amtool or prometheus, or skip the test (`debian_tool`)."""
    return debian_tool(name, "prometheus-alertmanager" if name == "amtool" else "prometheus")
