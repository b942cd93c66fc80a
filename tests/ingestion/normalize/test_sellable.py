"""Records that are not sellable US leads (field cases C06, C08): further shapes. Each is
refused with a reason an operator can query (the quarantine's reason code)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from aiqleads.ingestion.normalize.lead import NormalizedLead, normalize
from aiqleads.ingestion.parsers import zillow
from aiqleads.ingestion.records import RawRecord, Rejected
from aiqleads.metros import get_metro
from aiqleads.regions import county_of_point, county_of_zip, in_us

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def run(metro: str | None = None, **fields: Any) -> NormalizedLead | list[str]:
    fields.setdefault("source", "craigslist")
    fields.setdefault("source_ref", "1")
    fields.setdefault("payload", {})
    return normalize(RawRecord(**fields), metro=metro, now=NOW)


def code(result: NormalizedLead | list[str]) -> str:
    assert isinstance(result, list), result
    return result[0].partition(":")[0]


@pytest.mark.parametrize(
    "fields",
    [
        {"price": "C$2,150", "zip_code": "89110", "kind": "for_rent"},
        {"price": 2150, "currency": "CAD", "zip_code": "89110", "kind": "for_rent"},
        {"price": "€500,000", "zip_code": "89110", "kind": "for_sale"},
    ],
)
def test_prices_in_another_currency_are_refused(fields: dict[str, Any]) -> None:
    assert code(run(**fields)) == "currency_not_usd"


@pytest.mark.parametrize(
    "fields",
    [
        {"latitude": 32.5149, "longitude": -117.0382},  # Tijuana
        {"latitude": 43.6532, "longitude": -79.3832},  # Toronto
        {"zip_code": "89110", "country": "Canada"},  # a source that says so
    ],
)
def test_records_outside_the_us_are_refused_without_a_metro(fields: dict[str, Any]) -> None:
    assert code(run(price="$1,000", kind="for_rent", **fields)) == "outside_us"


def test_us_points_near_a_border_or_a_coast_are_us_leads() -> None:
    assert in_us(48.99, -122.75)  # Blaine WA, on the Canadian border
    assert in_us(47.6205, -122.3493)  # Seattle
    assert in_us(36.17, -115.14)
    assert not in_us(49.2258, -123.0034)  # Burnaby BC (C06)


def test_a_point_in_the_metros_box_but_another_county_is_outside_the_metro() -> None:
    # Forney (Kaufman County) lies in the Dallas metro's padded box, not in its counties
    dallas = get_metro("dallas")
    assert dallas.contains(32.7479, -96.4719)
    assert county_of_point(dallas, 32.7479, -96.4719) is None
    assert code(run("dallas", latitude=32.7479, longitude=-96.4719)) == "coordinates_out_of_metro"


def test_a_zip_of_another_county_is_outside_the_metro() -> None:
    dallas = get_metro("dallas")
    assert county_of_zip(dallas, "75126") is None  # Forney, Kaufman County
    assert county_of_zip(dallas, "75206") == "48113"  # Dallas County
    assert code(run("dallas", zip_code="75126")) == "zip_out_of_metro"


@pytest.mark.parametrize(
    "fields",
    [
        {"street": "Homes Available Soon", "zip_code": "89138"},
        {"title": "The Aspen Plan at Fictional Ridge", "zip_code": "89138", "price": 445_990},
        {"price": "$445,990+", "zip_code": "89138"},
        {"title": "Luxury estate - price upon request", "zip_code": "89138"},
    ],
)
def test_placeholder_cards_are_not_listings(fields: dict[str, Any]) -> None:
    assert code(run(kind="for_sale", **fields)) == "not_a_listing"


def test_a_price_on_request_with_an_address_is_a_listing() -> None:
    result = run(
        kind="for_sale", street="100 Fictional Way", zip_code="89138", price="Price upon request"
    )
    assert isinstance(result, NormalizedLead)


def _card(**row: Any) -> bytes:
    base = {"zpid": "9", "statusType": "FOR_SALE", "price": "$445,990+"}
    return json.dumps({"cat1": {"searchResults": {"listResults": [{**base, **row}]}}}).encode()


@pytest.mark.parametrize(
    "row",
    [
        {"hdpData": {"homeInfo": {"newConstructionType": "BUILDER_PLAN"}}, "address": "Plan 2450"},
        {"hdpData": {"homeInfo": {"group_type": "COMMUNITY"}}, "communityName": "Fictional Park"},
        {"isCdpResult": True, "address": "Fictional Hills"},
    ],
)
def test_zillow_builder_plan_and_community_cards_are_refused_by_the_parser(
    row: dict[str, Any],
) -> None:
    (item,) = zillow.parse(_card(**row))
    assert isinstance(item, Rejected)
    assert "builder community or plan card" in item.reason
