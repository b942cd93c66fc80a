"""Prices, property facts and kinds."""

from __future__ import annotations

import math

import pytest

from aiqleads.ingestion.normalize.facts import (
    normalize_kind,
    normalize_property_type,
    parse_bathrooms,
    parse_bedrooms,
    parse_living_area,
    parse_lot_area,
    parse_year_built,
)
from aiqleads.ingestion.normalize.money import Price, parse_price
from aiqleads.ingestion.normalize.reasons import Reason


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$1,149,000", Price(114_900_000)),
        ("1300", Price(130_000)),
        (1149000.0, Price(114_900_000)),
        (1149000, Price(114_900_000)),
        ("$2,150/mo", Price(215_000, "month")),
        ("$3,000 per month", Price(300_000, "month")),
        ("$1.2M", Price(120_000_000)),
        ("$850K", Price(85_000_000)),
        ("$1,149,000.50", Price(114_900_050)),
        (0.1 + 0.2 + 1999.7, Price(200_000)),
    ],
)
def test_prices_become_integer_cents(raw: object, expected: Price) -> None:
    assert parse_price(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "price_missing"),
        (None, "price_missing"),
        ("NA", "price_missing"),
        (math.nan, "price_missing"),  # pandas-style missing
        (math.inf, "price_unparseable"),
        (True, "price_unparseable"),
        ("call for price", "price_unparseable"),
        ("-$5,000", "price_negative"),
        (-5000, "price_negative"),
        ("$0", "price_placeholder"),
        ("$1", "price_placeholder"),
        ("$10B", "price_absurd"),
        (10**15, "price_absurd"),
        ("$1,200 - $1,500", "price_range"),
        ("€500,000", "price_currency"),
        (["1"], "price_unparseable"),
    ],
)
def test_bad_prices_are_reasons(raw: object, code: str) -> None:
    result = parse_price(raw)
    assert isinstance(result, Reason)
    assert result.code == code


@pytest.mark.parametrize(
    ("raw", "expected"), [("3br", 3), ("3bd", 3), ("4 beds", 4), (3.0, 3), ("Studio", 0), (0, 0)]
)
def test_bedrooms(raw: object, expected: int) -> None:
    assert parse_bedrooms(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("2ba", 2.0), ("1.5", 1.5), (2.25, 2.25), ("2.5 baths", 2.5)]
)
def test_bathrooms(raw: object, expected: float) -> None:
    assert parse_bathrooms(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("642ft2", 642), ("2000ft²", 2000), ("1,234 sqft", 1234), ("1200 sq. ft.", 1200), (2000, 2000),
     ("90 m²", 969)],
)  # fmt: skip
def test_living_area_in_square_feet(raw: object, expected: int) -> None:
    assert parse_living_area(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("0.25 acres", 10_890), ("1 ac", 43_560), ("5,650", 5650), (7242, 7242)]
)
def test_lot_area_in_square_feet(raw: object, expected: int) -> None:
    assert parse_lot_area(raw) == expected


@pytest.mark.parametrize(
    ("fn", "raw", "code"),
    [
        (parse_bedrooms, "2.5", "bedrooms_unparseable"),
        (parse_bedrooms, 99, "bedrooms_out_of_range"),
        (parse_bedrooms, "-1", "bedrooms_negative"),
        (parse_bedrooms, "lots", "bedrooms_unparseable"),
        (parse_bedrooms, None, "bedrooms_missing"),
        (parse_bathrooms, 75, "bathrooms_out_of_range"),
        (parse_bathrooms, False, "bathrooms_unparseable"),
        (parse_living_area, "10", "living_area_out_of_range"),
        (parse_living_area, "1200 furlongs", "living_area_unit_unknown"),
        (parse_living_area, 10**9, "living_area_out_of_range"),
        (parse_lot_area, "0.0001 acres", "lot_area_out_of_range"),
        (parse_lot_area, {}, "lot_area_unparseable"),
    ],
)
def test_absurd_or_garbage_facts_are_reasons(fn: object, raw: object, code: str) -> None:
    result = fn(raw)  # type: ignore[operator]
    assert isinstance(result, Reason)
    assert result.code == code


def test_year_built_is_plausible_from_1700_to_next_year() -> None:
    assert parse_year_built("1955", current_year=2025) == 1955
    assert parse_year_built(2026, current_year=2025) == 2026
    assert parse_year_built("Built in 1999", current_year=2025) == 1999
    for raw in (1699, 2027, "1955.5", "year"):
        assert isinstance(parse_year_built(raw, current_year=2025), Reason)
    zero = parse_year_built(0, current_year=2025)
    assert isinstance(zero, Reason) and zero.code == "year_built_missing"


@pytest.mark.parametrize(
    ("raw", "is_fsbo", "expected"),
    [
        ("FSBO", None, "fsbo"),
        ("for sale by owner", None, "fsbo"),
        ("for_sale", None, "for_sale"),
        ("FOR_SALE", True, "fsbo"),
        ("apa", None, "for_rent"),
        ("For Rent", True, "for_rent"),
        ("Expired", None, "expired"),
        ("off-market", None, "expired"),
        ("timeshare", None, "other"),
        (None, None, "other"),
        (None, True, "fsbo"),
        (17, None, "other"),
    ],
)
def test_kinds_map_to_the_five_lead_kinds(raw: object, is_fsbo: bool | None, expected: str) -> None:
    assert normalize_kind(raw, is_fsbo=is_fsbo) == expected


def test_property_type_is_a_snake_case_token() -> None:
    assert normalize_property_type("Single Family") == "single_family"
    assert normalize_property_type("SINGLE_FAMILY") == "single_family"
    assert normalize_property_type("  ") is None
    assert normalize_property_type(None) is None
