"""Listing dates: numbers that look like dates are reasons, never a wrong date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aiqleads.ingestion.normalize.dates import parse_listed_at
from aiqleads.ingestion.normalize.reasons import Reason

NOW = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("20141013T000000", datetime(2014, 10, 13, tzinfo=UTC)),  # King County's basic ISO form
        ("2025-05-30T10:00:00-07:00", datetime(2025, 5, 30, 17, tzinfo=UTC)),
        ("05/30/2025", datetime(2025, 5, 30, tzinfo=UTC)),
    ],
)
def test_dates_are_read_as_aware_utc(raw: str, expected: datetime) -> None:
    assert parse_listed_at(raw, now=NOW) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "1.4149728E+09",  # epoch seconds written by a spreadsheet
        "1414972800",  # epoch seconds
        "1414972800000",  # epoch milliseconds
        "2.0141013E+07",  # 20141013 written by a spreadsheet
        "1e400",
        1414972800,  # a number where a date belongs
        1.4149728e9,
    ],
)
def test_numbers_are_unparseable_dates(raw: object) -> None:
    # given a number in a date field / when read / then a reason, not a guessed date
    result = parse_listed_at(raw, now=NOW)
    assert isinstance(result, Reason)
    assert result.code == "listed_at_unparseable"
