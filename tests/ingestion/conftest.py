"""Helpers for the pipeline tests: real input slices and a pipeline on the test database."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from tests.shared_data import FIXTURES

from aiqleads.config import IngestSettings, Settings
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.sample.sources import KING_COUNTY_SALES

COPIED = FIXTURES / "listings"


def kc_lines(n: int) -> list[str]:
    """The header and the first n data lines of the bundled King County sales."""
    with gzip.open(KING_COUNTY_SALES, "rt", encoding="utf-8") as f:
        return [next(f) for _ in range(n + 1)]


def kc_document(n: int, *, edit: Callable[[list[str]], None] | None = None) -> Document:
    lines = kc_lines(n)
    if edit is not None:
        edit(lines)
    return Document("kc.csv", "king_county_sales", "".join(lines).encode())


def reso_document(*records: dict[str, Any]) -> Document:
    return Document("reso.json", "reso", json.dumps({"value": list(records)}).encode())


@pytest.fixture
def make_pipeline(
    settings: Settings, cipher: FieldCipher, clock: FrozenClock
) -> Callable[..., Pipeline]:
    """A pipeline with these ingest settings, recording its runs at the test's clock."""

    def make(**ingest: Any) -> Pipeline:
        tuned = settings.model_copy(update={"ingest": IngestSettings(**ingest)})
        return Pipeline.from_settings(tuned, cipher, clock=clock)

    return make
