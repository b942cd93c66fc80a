"""A whole record → NormalizedLead or reasons."""

from __future__ import annotations

import csv
import dataclasses
import gzip
from datetime import UTC, datetime
from typing import Any

import pytest

from aiqleads.ingestion.normalize.lead import NormalizedLead, normalize
from aiqleads.ingestion.records import RawRecord
from aiqleads.metros import UnknownMetroError
from aiqleads.sample.sources import KING_COUNTY_SALES

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def raw(**fields: Any) -> RawRecord:
    fields.setdefault("source", "craigslist")
    fields.setdefault("source_ref", "7517713882")
    fields.setdefault("payload", {})
    return RawRecord(**fields)


def lead(result: NormalizedLead | list[str]) -> NormalizedLead:
    assert isinstance(result, NormalizedLead), result
    return result


def test_fsbo_post_with_one_line_address_and_contacts() -> None:
    # given a Craigslist-like FSBO post with a one-line address, no point, phones and a relay
    record = raw(
        kind="for sale by owner",
        title="  Charming   3br house ",
        description="Call 206.555.0100 or 425.467.6348 / no agents",
        url="https://seattle.craigslist.org/see/reo/d/7517713882.html",
        price="$1,149,000",
        bedrooms="3br",
        bathrooms="2ba",
        living_area="1,420ft2",
        lot_area="0.25 acres",
        year_built="1955",
        property_type="Single Family",
        address="9163 N.W. 26th Street Apt O31, Seattle, WA 98178-1234",
        phones=["(206) 467-6348 / 425.484.0917"],
        emails=["abc123@hous.craigslist.org", "Owner@Example.COM"],
        owner_name=" Ann  Lee ",
        listed_at="2025-05-30T10:00:00-07:00",
    )
    # when normalized for Seattle
    result = lead(normalize(record, metro="seattle", now=NOW))
    # then every column is typed and cleaned, and the point is the ZIP's centroid
    assert (result.kind, result.asking_price_cents, result.currency) == ("fsbo", 114_900_000, "USD")
    assert (result.bedrooms, result.bathrooms) == (3, 2.0)
    assert (result.living_area_sqft, result.lot_sqft, result.year_built) == (1420, 10_890, 1955)
    assert result.property_type == "single_family"
    assert result.title == "Charming 3br house"
    assert (result.street_address, result.unit, result.city, result.state, result.zip_code) == (
        "9163 NW 26th St", "APT O31", "Seattle", "WA", "98178"
    )  # fmt: skip
    assert result.geocode_precision == "zip_centroid"
    assert (result.latitude, result.longitude) == (47.4924, -122.2359)
    assert result.owner_phone == "+12064676348"
    assert result.owner_email == "Owner@example.com"
    assert result.owner_name == "Ann Lee"
    assert result.listed_at == datetime(2025, 5, 30, 17, 0, tzinfo=UTC)
    assert result.address_key == "9163 nw 26th st|o31|98178"
    assert result.notes == ()


def test_king_county_rows_normalise_with_exact_points() -> None:
    # given the first 500 King County sales bundled in the package, as a file loader builds them
    with gzip.open(KING_COUNTY_SALES, "rt", newline="", encoding="utf-8") as f:
        rows = [row for _, row in zip(range(500), csv.DictReader(f), strict=False)]
    records = [
        raw(
            source="kc_house_data", source_ref=row["id"], kind="for_sale", price=row["price"],
            bedrooms=row["bedrooms"], bathrooms=row["bathrooms"], living_area=row["sqft_living"],
            lot_area=row["sqft_lot"], year_built=row["yr_built"], zip_code=row["zipcode"],
            latitude=row["lat"], longitude=row["long"], listed_at=row["date"],
        )
        for row in rows
    ]  # fmt: skip
    # when normalized for Seattle
    results = [normalize(r, metro="seattle", now=NOW) for r in records]
    # then all are leads with exact points, prices in cents and the state from the ZIP
    leads = [lead(r) for r in results]
    first = leads[0]
    assert first.asking_price_cents == 22_190_000
    assert (first.latitude, first.longitude, first.geocode_precision) == (
        47.5112,
        -122.257,
        "exact",
    )
    assert (first.zip_code, first.city, first.state) == ("98178", "Seattle", "WA")
    assert first.listed_at == datetime(2014, 10, 13, tzinfo=UTC)
    assert all(x.geocode_precision == "exact" and x.state == "WA" for x in leads)
    assert all(x.address_key is None for x in leads)  # no street: nothing to dedupe on


def test_record_with_no_location_at_all_is_rejected() -> None:
    result = normalize(raw(title="nice house", price="$500,000"), metro="seattle", now=NOW)
    assert isinstance(result, list)
    assert result[0].startswith("location_missing")


def test_point_outside_the_metro_is_rejected_with_the_point_and_metro() -> None:
    result = normalize(raw(latitude=40.7, longitude=-74.0), metro="seattle", now=NOW)
    assert result == ["coordinates_out_of_metro: (40.7, -74.0) not in seattle"]


def test_zip_outside_the_metro_is_rejected() -> None:
    result = normalize(raw(zip_code="10001"), metro="seattle", now=NOW)
    assert result == ["zip_out_of_metro: 10001 not in seattle"]


def test_bad_point_falls_back_to_the_zip_with_a_note() -> None:
    result = lead(normalize(raw(latitude=0, longitude=0, zip_code=98101), metro="seattle", now=NOW))
    assert result.geocode_precision == "zip_centroid"
    assert result.notes == ("coordinates_null_island: (0, 0)",)


def test_swapped_point_is_used_and_noted() -> None:
    result = lead(normalize(raw(latitude=-122.257, longitude=47.5112), metro="seattle", now=NOW))
    assert (result.latitude, result.longitude, result.geocode_precision) == (
        47.5112,
        -122.257,
        "exact",
    )
    assert result.notes == ("coordinates_swapped: (-122.257, 47.5112)",)


def test_street_with_city_and_state_is_enough_without_point_or_zip() -> None:
    record = raw(street="100 N Main St", city="SEATTLE", state="Washington")
    result = lead(normalize(record, metro="seattle", now=NOW))
    assert (result.street_address, result.city, result.state) == ("100 N Main St", "Seattle", "WA")
    assert result.geocode_precision == "none"
    assert (result.latitude, result.longitude) == (None, None)
    assert result.address_key == "100 n main st||seattle wa"


def test_address_in_another_state_than_the_metro_is_rejected() -> None:
    record = raw(street="100 Main St", city="Portland", state="OR")
    assert normalize(record, metro="seattle", now=NOW) == ["state_out_of_metro: OR not in seattle"]


def test_sale_without_price_is_kept_with_a_note_and_bad_fields_are_dropped() -> None:
    # given a sale with no price, an unparseable date, a future-proof year and garbage facts
    record = raw(
        kind="for_sale", zip_code="98101", price="", listed_at="last Tuesday", bedrooms="many",
        year_built=3000, url="javascript:alert(1)", phones=["(111) 111-1111"], emails=["nope"],
    )  # fmt: skip
    # when normalized
    result = lead(normalize(record, metro="seattle", now=NOW))
    # then the record is kept, the fields are None, and each problem is a note with a code
    assert (result.asking_price_cents, result.listed_at, result.bedrooms) == (None, None, None)
    assert (result.year_built, result.source_url, result.owner_phone, result.owner_email) == (
        None, None, None, None
    )  # fmt: skip
    codes = {note.partition(":")[0] for note in result.notes}
    assert codes == {
        "price_missing", "listed_at_unparseable", "bedrooms_unparseable",
        "year_built_out_of_range", "url_invalid", "phone_invalid", "email_invalid",
    }  # fmt: skip


def test_rent_price_turns_an_unknown_kind_into_a_rental() -> None:
    result = lead(normalize(raw(price="$2,150/mo", zip_code="98101"), now=NOW))
    assert (result.kind, result.asking_price_cents) == ("for_rent", 215_000)


def test_relay_only_email_is_kept_and_noted() -> None:
    record = raw(zip_code="98101", emails=["x1@hous.craigslist.org"], poster_role="owner")
    result = lead(normalize(record, now=NOW))
    assert result.owner_email == "x1@hous.craigslist.org"
    assert result.notes == ("email_relay: hous.craigslist.org",)


def test_missing_identity_is_rejected() -> None:
    result = normalize(raw(source=" ", source_ref="", zip_code="98101"), now=NOW)
    assert result == ["source_missing", "source_ref_missing"]


def test_unknown_metro_is_a_callers_error() -> None:
    with pytest.raises(UnknownMetroError, match="seattle"):
        normalize(raw(zip_code="98101"), metro="atlantis", now=NOW)


def test_lead_is_frozen_and_slotted() -> None:
    result = lead(normalize(raw(zip_code="98101"), now=NOW))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.kind = "fsbo"  # type: ignore[misc]
    assert not hasattr(result, "__dict__")


GARBAGE: list[dict[str, Any]] = [
    {"price": float("nan"), "latitude": "nan", "longitude": "nan"},
    {"price": ["$5"], "bedrooms": {"n": 3}, "zip_code": [98101]},
    {"address": "\x00" * 50, "street": 42, "city": 7, "state": 3.5},
    {"latitude": "91", "longitude": "181", "zip_code": "ABCDE"},
    {"listed_at": 1_700_000_000, "phones": ["", "x" * 10_000], "emails": ["@" * 400]},
    {"price": True, "year_built": "-1955", "lot_area": "-3 acres", "living_area": "1e309"},
    {"kind": 42, "title": 17, "description": 3.14, "url": 5, "owner_name": [], "zip_code": 98101},
    {"source_ref": 7517713882, "zip_code": 98101, "property_type": ["x"], "unit": 4.5},
]


@pytest.mark.parametrize("fields", GARBAGE)
def test_garbage_gives_reasons_or_a_lead_never_an_exception(fields: dict[str, Any]) -> None:
    result = normalize(raw(**fields), metro="seattle", now=NOW)
    assert isinstance(result, NormalizedLead | list)
    if isinstance(result, list):
        assert result and all(isinstance(r, str) and r.split(":")[0].islower() for r in result)
