"""Rents per week or night taken for monthly rents (field case C07): further shapes. A price
carries its period; rents are compared per month with the conversion stated; nightly rates are
short-term rentals; exact numbers win over display strings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from aiqleads.ingestion.normalize.lead import NormalizedLead, normalize
from aiqleads.ingestion.normalize.money import normalize_period, per_month, period_in_text
from aiqleads.ingestion.parsers import zillow
from aiqleads.ingestion.records import RawRecord

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def run(**fields: Any) -> NormalizedLead | list[str]:
    fields.setdefault("source", "craigslist")
    fields.setdefault("source_ref", "1")
    fields.setdefault("payload", {})
    fields.setdefault("zip_code", "75206")
    return normalize(RawRecord(**fields), now=NOW)


def lead(**fields: Any) -> NormalizedLead:
    result = run(**fields)
    assert isinstance(result, NormalizedLead), result
    return result


def test_a_weekly_rent_in_the_price_text_is_converted_and_noted() -> None:
    result = lead(kind="for_rent", price="$339/wk")
    assert (result.price_period, result.listed_price_cents, result.asking_price_cents) == (
        "week",
        33_900,
        146_900,
    )
    assert "price_converted: $339.00 a week × 52 / 12 = $1,469.00 a month" in result.notes


def test_a_weekly_rent_said_only_in_the_description_is_found() -> None:
    # the C07 studio without its rent_period column: the body says "$421.00 per week"
    result = lead(
        kind="for_rent",
        price="421",
        description="Furnished Studio - FREE Utilities\nOnly $421.00 per week (Taxes Included)",
    )
    assert (result.price_period, result.asking_price_cents) == ("week", 182_433)


def test_weekly_rates_named_before_the_amount_are_found() -> None:
    result = lead(kind="for_rent", price=339, title="Weekly rates from $339, bills paid")
    assert result.price_period == "week"


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"price": "$43/night"}, "nightly rate $43.00 a night"),
        ({"price": 95, "price_period": "daily"}, "nightly rate $95.00 a night"),
        ({"price": 120, "description": "Short stay, $120 per night, 2 nights min"}, "$120.00"),
    ],
)
def test_nightly_rates_are_short_term_rentals_not_rents(
    fields: dict[str, Any], detail: str
) -> None:
    result = run(kind="for_rent", **fields)
    assert isinstance(result, list)
    assert result[0].startswith("short_term_rental:") and detail in result[0]


def test_a_yearly_rent_is_converted_to_a_month() -> None:
    result = lead(kind="for_rent", price="$18,000/yr")
    assert (result.price_period, result.asking_price_cents) == ("year", 150_000)


def test_a_rent_that_names_no_period_is_monthly_and_a_sale_is_a_sale() -> None:
    assert lead(kind="for_rent", price="1250").price_period == "month"
    sale = lead(kind="for_sale", price="$389,000")
    assert (sale.price_period, sale.asking_price_cents) == ("sale", 38_900_000)


def test_an_amount_that_is_not_the_price_says_nothing_about_its_period() -> None:
    assert period_in_text("Deposit $500 a month before move-in", 125_000) is None


def test_a_rent_period_on_a_sale_listing_is_refused_with_a_reason() -> None:
    result = run(kind="for_sale", price="$2,150/mo")
    assert isinstance(result, list) and result[0].startswith("price_period_conflict")


def test_scientific_notation_parses() -> None:
    assert lead(kind="for_sale", price="1.23E+06").asking_price_cents == 123_000_000


@pytest.mark.parametrize(
    ("raw", "period"),
    [("weekly", "week"), ("Monthly", "month"), ("daily", "night"), ("per night", "night"),
     ("Annually", "year"), ("mo", "month"), ("sale", "sale")],
)  # fmt: skip
def test_period_fields_as_sources_write_them(raw: str, period: str) -> None:
    assert normalize_period(raw) == period


def test_per_month_refuses_a_nightly_rate() -> None:
    with pytest.raises(ValueError, match="night"):
        per_month(4300, "night")


def _zillow_row(**row: Any) -> bytes:
    base = {"zpid": "1", "statusType": "FOR_SALE", "detailUrl": "/homedetails/1_zpid/"}
    return json.dumps({"cat1": {"searchResults": {"listResults": [{**base, **row}]}}}).encode()


@pytest.mark.parametrize(
    ("row", "price"),
    [
        ({"price": "$909K", "unformattedPrice": 908_500}, 908_500),
        ({"price": "$1.2M", "hdpData": {"homeInfo": {"price": 1_195_000.0}}}, 1_195_000.0),
        ({"price": "$425,000"}, "$425,000"),
    ],
)
def test_exact_numbers_win_over_rounded_display_strings(row: dict[str, Any], price: Any) -> None:
    (record,) = zillow.parse(_zillow_row(**row))
    assert isinstance(record, RawRecord)
    assert record.price == price
