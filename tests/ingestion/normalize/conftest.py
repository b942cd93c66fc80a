"""Where the shared real-data corpora live: <repo>/../shared/data, or $AIQLEADS_SHARED_DATA."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]

SharedPath = Callable[..., Path]


def _shared_data_root() -> Path:
    override = os.environ.get("AIQLEADS_SHARED_DATA")
    return Path(override) if override else (REPO_ROOT.parent / "shared" / "data").resolve()


def _shared_path(*parts: str) -> Path:
    path = _shared_data_root().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (set AIQLEADS_SHARED_DATA to its folder)")
    return path


@pytest.fixture(scope="session")
def shared_path() -> SharedPath:
    """shared_path("contacts", "usaddress"): the path, or the test is skipped naming it."""
    return _shared_path
