"""Fixtures for the parser tests: where the shared real data and the copied fixtures live."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    raise RuntimeError("no pyproject.toml above the tests")


REPO_ROOT = _repo_root()
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()
LISTING_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "listings"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that read ../shared/data carry the `shared_data` marker, so they can be selected."""
    for item in items:
        if "shared_file" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared_data)


@pytest.fixture
def shared_file() -> Callable[[str], bytes]:
    """Read a file under ../shared/data; skip the test, naming the folder, when it is absent."""

    def read(relative: str) -> bytes:
        path = SHARED_DATA / relative
        if not path.is_file():
            folder = path.parent if path.parent.is_dir() else SHARED_DATA
            pytest.skip(f"shared data missing: {path} (looked in {folder})")
        return path.read_bytes()

    return read


@pytest.fixture
def listing_fixture() -> Callable[[str], bytes]:
    """Read a fixture copied into tests/fixtures/listings (always present)."""

    def read(relative: str) -> bytes:
        return (LISTING_FIXTURES / relative).read_bytes()

    return read
