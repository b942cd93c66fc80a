"""Fixtures for the geo tests: real point sets (see tests/geo/points.py).

- `king_county`: the 21,613 King County sales bundled in the package.
- `rentals`: real rental posts, one test per set: the 69 Seattle Craigslist posts of 2014 (copied
  in tests/fixtures), and the Dallas posts of 2022 from ../shared/data, marked `shared_data`.
"""

from __future__ import annotations

import uuid

import pytest

from aiqleads.config import Settings
from tests.conftest import Backend
from tests.geo.points import Points, read_dallas_rentals, read_king_county, read_seattle_rentals


@pytest.fixture(scope="session")
def king_county() -> Points:
    return read_king_county()


@pytest.fixture(
    scope="session",
    params=["seattle_2014", pytest.param("dallas_2022", marks=pytest.mark.shared_data)],
)
def rentals(request: pytest.FixtureRequest) -> Points:
    if request.param == "seattle_2014":
        return read_seattle_rentals()
    return read_dallas_rentals()


@pytest.fixture
def settings(backend: Backend) -> Settings:
    # Redis outlives the per-test table truncation, after which data versions start again from
    # the same numbers: a fresh namespace per test keeps an earlier test's entries from matching.
    return backend.settings(cache_namespace=f"aiq-test-{uuid.uuid4().hex}")
