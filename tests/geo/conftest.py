"""Fixtures for the geo tests: real point sets from ../shared/data (skipped when absent)."""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from aiqleads.config import Settings
from tests.conftest import Backend

# tests/geo/conftest.py → repository root is two levels up; shared data sits beside the repo.
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass(frozen=True)
class Points:
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    price: NDArray[np.float64]
    zipcode: list[str]


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data missing: {path.parent} (expected {path.name})")
    return path


def _read(path: Path, lat: str, lon: str, price: str, zipcode: str | None) -> Points:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))

    def number(text: str) -> float:
        cleaned = text.replace("$", "").replace(",", "").strip()
        return float(cleaned) if cleaned not in {"", "NA"} else float("nan")

    return Points(
        lat=np.array([float(r[lat]) for r in rows]),
        lon=np.array([float(r[lon]) for r in rows]),
        price=np.array([number(r[price]) for r in rows]),
        zipcode=[r[zipcode] for r in rows] if zipcode else [],
    )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder missing: {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def king_county(shared_data: Path) -> Points:
    path = _require(shared_data / "tabular" / "kc_house_data.csv")
    return _read(path, "lat", "long", "price", "zipcode")


@pytest.fixture(scope="session")
def dallas_rentals(shared_data: Path) -> Points:
    path = _require(shared_data / "tabular" / "craigslist_housing_asl7168" / "dallas_complete.csv")
    return _read(path, "latitude", "longitude", "price", None)


@pytest.fixture
def settings(backend: Backend) -> Settings:
    # Redis outlives the per-test table truncation, after which data versions start again from
    # the same numbers: a fresh namespace per test keeps an earlier test's entries from matching.
    return backend.settings(cache_namespace=f"aiq-test-{uuid.uuid4().hex}")
