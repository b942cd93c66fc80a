"""Readers for the parser tests: copies in tests/fixtures/listings, and the shared corpora."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.shared_data import SharedPath, fixture_path

Reader = Callable[[str], bytes]


@pytest.fixture
def shared_file(shared_path: SharedPath) -> Reader:
    """The bytes of a file under ../shared/data; the test is skipped, naming the path, without it
    (and, through `shared_path`, is marked `shared_data`)."""

    def read(relative: str) -> bytes:
        return shared_path(relative).read_bytes()

    return read


@pytest.fixture
def listing_fixture() -> Reader:
    """The bytes of a file copied into tests/fixtures/listings (always present)."""

    def read(relative: str) -> bytes:
        return fixture_path("listings", relative).read_bytes()

    return read
