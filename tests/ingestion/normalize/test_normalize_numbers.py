"""Numbers in source values, scientific notation included, and the bundled King County prices."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files

import pytest

from aiqleads.ingestion.normalize.facts import (
    parse_bathrooms,
    parse_bedrooms,
    parse_living_area,
    parse_lot_area,
    parse_year_built,
)
from aiqleads.ingestion.normalize.lead import NormalizedLead, normalize
from aiqleads.ingestion.normalize.money import Price, parse_price
from aiqleads.ingestion.normalize.numbers import leading_decimal
from aiqleads.ingestion.normalize.reasons import Reason
from aiqleads.ingestion.parsers.registry import get_parser
from aiqleads.ingestion.records import RawRecord

NOW = datetime(2025, 6, 1, tzinfo=UTC)
KC_FILE = files("aiqleads") / "sample_data" / "kc_house_sales.csv.gz"
KC_ROWS = 21_613
KC_SCIENTIFIC_ROWS = 1_492  # every sale of $1M or more: "1.23E+06"
KC_MIN_PRICE_CENTS = 75_000 * 100  # the data set's cheapest sale


@pytest.mark.parametrize(
    ("raw", "value", "rest"),
    [
        ("1.23E+06", Decimal("1230000"), ""),
        ("1.5e3", Decimal("1500"), ""),
        ("2.5E5", Decimal("250000"), ""),
        ("$1.2e6", Decimal("1200000"), ""),
        (" 1.0E+6 ", Decimal("1000000"), ""),
        ("1E6", Decimal("1000000"), ""),
        ("7.5E-01 acres", Decimal("0.75"), "acres"),
        ("1,230,000.0", Decimal("1230000"), ""),
        (1.23e6, Decimal("1230000"), ""),
        (1230000, Decimal("1230000"), ""),
        ("3br", Decimal(3), "br"),
        ("3 each", Decimal(3), "each"),  # an "e" that starts a word is no exponent
        ("0", Decimal(0), ""),
        ("0e0", Decimal(0), ""),
    ],
)
def test_numbers_are_read_whole_in_every_notation(raw: object, value: Decimal, rest: str) -> None:
    # given a source value / when read / then the whole number and the text after it
    result = leading_decimal(raw, "price")
    assert not isinstance(result, Reason), result
    assert result[0] == value
    assert result[1] == rest


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("1e400", "price_out_of_range"),  # no field is that large, and Decimal maths would raise
        ("1e99999999999", "price_out_of_range"),  # refused before Decimal reads the exponent
        (1e300, "price_out_of_range"),
        (10**30, "price_out_of_range"),
        # past CPython's int-to-text limit: no crash while writing the reason either
        pytest.param(10**5000, "price_out_of_range", id="int-of-5001-digits"),
        ("1e-9", "price_out_of_range"),  # no field is that small
        (1e-9, "price_out_of_range"),
        ("1e+", "price_unparseable"),  # an exponent marker with no digits
        ("1E-", "price_unparseable"),
        ("2e", "price_unparseable"),
        ("e5", "price_unparseable"),  # an exponent with no number: not 5
        ("$E+06", "price_unparseable"),
        ("-1.2e6", "price_negative"),
    ],
)
def test_malformed_or_absurd_exponents_are_reasons(raw: object, code: str) -> None:
    # given an abused number / when read / then a reason naming the field, never a value
    result = leading_decimal(raw, "price")
    assert isinstance(result, Reason)
    assert result.code == code


@pytest.mark.parametrize(
    ("raw", "cents"),
    [
        ("1.23E+06", 123_000_000),
        ("1.5e3", 150_000),
        ("2.5E5", 25_000_000),
        ("$1.2e6", 120_000_000),
        (" 1.0E+6 ", 100_000_000),
        ("1,230,000.0", 123_000_000),
        (1.23e6, 123_000_000),
        ("7.7E+06", 770_000_000),  # the dearest King County sale
    ],
)
def test_prices_in_scientific_notation(raw: object, cents: int) -> None:
    assert parse_price(raw) == Price(cents)


@pytest.mark.parametrize("raw", ["1e400", "1e-9", "1e+", "e5", 1e300, 10**40])
def test_abused_prices_are_reasons_not_crashes(raw: object) -> None:
    assert isinstance(parse_price(raw), Reason)


def test_every_field_read_as_a_number_takes_scientific_notation() -> None:
    # given King-County-style cells written by a spreadsheet
    # when each fact is read / then the whole number is used
    assert parse_bedrooms("3.3E+01") == 33
    assert parse_bathrooms("2.25E+00") == 2.25
    assert parse_living_area("1.18E+03") == 1180
    assert parse_lot_area("1.0245E+06") == 1_024_500
    assert parse_lot_area("2.5E-01 acres") == 10_890
    assert parse_year_built("1.955E+03", current_year=2025) == 1955
    # and an absurd exponent is that field's reason
    for result, code in [
        (parse_bedrooms("1e400"), "bedrooms_out_of_range"),
        (parse_bathrooms("1e-9"), "bathrooms_out_of_range"),
        (parse_living_area("e5"), "living_area_unparseable"),
        (parse_lot_area("1e+"), "lot_area_unparseable"),
        (parse_year_built("1e4", current_year=2025), "year_built_out_of_range"),
    ]:
        assert isinstance(result, Reason)
        assert result.code == code


def _kc_records() -> list[RawRecord]:
    parse = get_parser("king_county_sales")
    items = list(parse(gzip.decompress(KC_FILE.read_bytes())))
    assert all(isinstance(item, RawRecord) for item in items)
    return [item for item in items if isinstance(item, RawRecord)]


def test_every_bundled_king_county_sale_keeps_its_price() -> None:
    # given the bundled King County file read by the real parser
    records = _kc_records()
    assert len(records) == KC_ROWS
    # when each price is read as the normalize stage reads it
    prices = [parse_price(r.price) for r in records]
    # then every row has an asking price of at least the data set's minimum, none a reason
    assert not [
        (r.source_ref, p) for r, p in zip(records, prices, strict=True) if not isinstance(p, Price)
    ]
    assert min(p.cents for p in prices if isinstance(p, Price)) == KC_MIN_PRICE_CENTS
    # and the $1M+ sales, written "1.23E+06", read as millions, not as $1.23
    scientific = [
        (r, p) for r, p in zip(records, prices, strict=True) if "E" in str(r.price).upper()
    ]
    assert len(scientific) == KC_SCIENTIFIC_ROWS
    assert all(
        isinstance(p, Price) and p.cents == int(Decimal(str(r.price)) * 100) >= 100_000_000
        for r, p in scientific
    )


def test_bundled_million_dollar_sales_become_leads_with_their_price() -> None:
    # given the bundled sales written in scientific notation
    records = [r for r in _kc_records() if "E" in str(r.price).upper()]
    # when normalized for Seattle
    leads = [normalize(r, metro="seattle", now=NOW) for r in records]
    # then each is a lead with its price and no note about the price
    assert all(isinstance(lead, NormalizedLead) for lead in leads)
    for record, lead in zip(records, leads, strict=True):
        assert isinstance(lead, NormalizedLead)
        assert lead.asking_price_cents == int(Decimal(str(record.price)) * 100)
        assert not [n for n in lead.notes if n.startswith("price_")]
