"""Programs from Debian's packages that tests run (scripts/test.sh installs the packages when
missing)."""

from __future__ import annotations

import os
import shutil

import pytest


def debian_tool(name: str, package: str) -> str:
    """The path of program `name` from Debian package `package`, or skip the test (fail when
    the test command promised the tools: AIQ_TEST_REQUIRE_SERVICES=1)."""
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("AIQ_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is missing: scripts/test.sh installs it (Debian package {package})")
    pytest.skip(f"{name} is not installed (Debian package {package})")
