"""Phones → E.164, checked against libphonenumber's own example numbers."""

from __future__ import annotations

import csv

import pytest
from tests.shared_data import fixture_path

from aiqleads.ingestion.normalize.phone import first_phone, phones_in_text, to_e164
from aiqleads.ingestion.normalize.reasons import Reason


@pytest.fixture(scope="module")
def example_numbers() -> list[dict[str, str]]:
    path = fixture_path("contacts", "example_numbers_from_libphonenumber_metadata_v9.0.43.csv")
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_valid_us_example_normalises_to_its_e164(
    example_numbers: list[dict[str, str]],
) -> None:
    # given the US example numbers, in national and international format
    us = [row for row in example_numbers if row["region"] == "US" and row["is_valid"] == "True"]
    assert len(us) >= 5
    # when each is normalized, then each gives the E.164 column
    for row in us:
        assert to_e164(row["national_format"]) == row["e164"]
        assert to_e164(row["international_format"]) == row["e164"]


def test_valid_examples_of_every_region_normalise_from_international_format(
    example_numbers: list[dict[str, str]],
) -> None:
    # given every valid example number of every region, written with its country code
    rows = [row for row in example_numbers if row["is_valid"] == "True"]
    assert len(rows) > 1000
    # when normalized with the default US region, then the country code wins
    wrong = [
        (row["international_format"], row["e164"])
        for row in rows
        if to_e164(row["international_format"]) != row["e164"]
    ]
    assert wrong == []


def test_numbers_in_free_text_are_all_found_in_order() -> None:
    text = "Call 305.467.6348 / 786.484.0917, or 305-467-6348 again. Zip 33322, $1,149,000."
    assert phones_in_text(text) == ["+13054676348", "+17864840917"]


def test_first_phone_reads_a_field_holding_several_numbers() -> None:
    assert first_phone(["305.467.6348 / 786.484.0917"]) == "+13054676348"
    assert first_phone(["(954) 478-4784 ext. 12"]) == "+19544784784"
    assert first_phone([]) is None
    bad = first_phone(["555-0000", "call me"])
    assert isinstance(bad, Reason)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "phone_missing"),
        ("", "phone_missing"),
        ("n/a", "phone_missing"),
        ("call me maybe", "phone_unparseable"),
        ("12", "phone_invalid"),
        ("(111) 111-1111", "phone_invalid"),
        ("+1 999 999 9999", "phone_invalid"),
        (3054676348, "phone_unparseable"),
        ("9" * 500, "phone_unparseable"),
    ],
)
def test_bad_input_is_a_reason_never_an_exception(raw: object, code: str) -> None:
    result = to_e164(raw)
    assert isinstance(result, Reason)
    assert result.code == code


def test_text_without_enough_digits_or_not_text_gives_no_numbers() -> None:
    assert phones_in_text("3 bed 2 bath, $1,200") == []
    assert phones_in_text(None) == []
    assert phones_in_text(12345678901) == []
