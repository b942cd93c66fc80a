"""Addresses: usaddress agreement on its labelled corpus, token rules, keys, bad input."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from tests.shared_data import fixture_path

from aiqleads.ingestion.normalize.address import (
    ParsedAddress,
    address_key,
    normalize_city,
    normalize_state,
    normalize_street,
    normalize_unit,
    normalize_zip,
    parse_address,
)
from aiqleads.ingestion.normalize.reasons import Reason

# Measured 2025-11 with usaddress 0.5.16: see test_labelled_addresses_agree_with_the_labels.
AGREEMENT_FLOOR = 0.97


def _label(element: ET.Element, tag: str) -> str | None:
    words = [child.text or "" for child in element if child.tag == tag]
    return " ".join(words) if words else None


def test_labelled_addresses_agree_with_the_labels() -> None:
    # given the 1,513 hand-labelled addresses of usaddress's training corpus
    path = fixture_path("contacts", "usaddress_training_labeled.xml")
    root = ET.parse(path).getroot()  # noqa: S314 - a checked-in corpus, not untrusted input
    addresses = list(root)
    assert len(addresses) == 1513
    # when each one-line string is parsed
    agree = 0
    for element in addresses:
        line = "".join(element.itertext())
        parsed = parse_address(line)
        expected_number = _label(element, "AddressNumber")
        expected_name = _label(element, "StreetName")
        expected_zip = _label(element, "ZipCode")
        got = parsed if isinstance(parsed, ParsedAddress) else None
        # then AddressNumber, StreetName and ZipCode match the labels, after the same
        # normalization (case, punctuation, ZIP+4) is applied to the labels
        same_number = (got.number if got else None) == (
            expected_number.strip(".,").upper() if expected_number else None
        )
        same_name = _norm(got.street_name if got else None) == _norm(expected_name)
        zip_label = normalize_zip(expected_zip)
        same_zip = (got.zip5 if got else None) == (
            zip_label if isinstance(zip_label, str) else None
        )
        agree += same_number and same_name and same_zip
    assert agree / len(addresses) >= AGREEMENT_FLOOR, f"{agree}/{len(addresses)}"


def _norm(text: str | None) -> str | None:
    if not text:
        return None
    return " ".join(w.strip(".,;:()\"'").lower() for w in text.split() if w.strip(".,;:()\"'"))


def test_one_line_address_is_split_and_abbreviated() -> None:
    parsed = parse_address("9163 N.W. 26th Street Apt O31, Sunrise, FL 33322-1234")
    assert parsed == ParsedAddress(
        street="9163 NW 26th St",
        unit="APT O31",
        city="Sunrise",
        state="FL",
        zip5="33322",
        number="9163",
        street_name="26th",
    )


def test_line_without_commas_goes_through_usaddress() -> None:
    parsed = parse_address("1600 PENNSYLVANIA AVENUE NORTHWEST WASHINGTON DC 20500")
    assert isinstance(parsed, ParsedAddress)
    assert (parsed.street, parsed.city, parsed.state, parsed.zip5) == (
        "1600 Pennsylvania Ave NW",
        "Washington",
        "DC",
        "20500",
    )


def test_repeated_labels_give_a_best_effort_flagged_as_guessed() -> None:
    parsed = parse_address("123 Main St Seattle WA 98101 Seattle WA")
    assert isinstance(parsed, ParsedAddress)
    assert parsed.zip5 == "98101"
    assert parsed.guessed is True


@pytest.mark.parametrize(
    ("raw", "street", "unit"),
    [
        ("9163 N.W. 26th Street", "9163 NW 26th St", None),
        ("100 North St", "100 North St", None),
        ("100 n main", "100 N Main", None),
        ("4500 BROADWAY E", "4500 Broadway E", None),
        ("12 Lake Shore Drive Unit 3B", "12 Lake Shore Dr", "UNIT 3B"),
        ("123 Main St #4", "123 Main St", "#4"),
        ("77 McKinney Avenue, Apt. 12", "77 McKinney Ave", "APT 12"),
        ("77 MCKINNEY AVE", "77 McKinney Ave", None),
        ("12 O'CONNOR ST", "12 O'Connor St", None),
    ],
)
def test_street_parts_are_normalised_without_usaddress(
    raw: str, street: str, unit: str | None
) -> None:
    parts = normalize_street(raw)
    assert not isinstance(parts, Reason)
    assert (parts.street, parts.unit) == (street, unit)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("McKinney", "McKinney"),
        ("DeSoto", "DeSoto"),
        ("Winston-Salem", "Winston-Salem"),
        ("MCKINNEY", "McKinney"),
        ("seattle", "Seattle"),
        ("  san   antonio ", "San Antonio"),
        ("COEUR D'ALENE", "Coeur d'Alene"),
        ("St. Louis,", "St. Louis"),  # the comma frames it; the period is part of it
        ("(Seattle)", "Seattle"),
        ("N/A", None),
        ("", None),
        (None, None),
        (98101, None),
    ],
)
def test_cities_keep_a_source_spelling_and_fix_one_case_text(
    raw: object, expected: str | None
) -> None:
    assert normalize_city(raw) == expected


def test_address_key_without_a_zip_matches_spellings_of_the_city() -> None:
    # given one building written by two sources, neither giving a ZIP
    keys = {
        address_key("5 Elm St", None, zip5=None, city=city, state="MO")
        for city in ("St. Louis", "SAINT LOUIS", "Saint Louis")
    }
    # then one key, so dedupe sees one property
    assert keys == {"5 elm st||saint louis mo"}
    assert address_key("2 Oak St", None, zip5=None, city="Winston-Salem", state="NC") == (
        address_key("2 Oak St", None, zip5=None, city="WINSTON SALEM", state="NC")
    )


@pytest.mark.parametrize(
    ("line", "city"),
    [
        ("100 MCKINNEY AVE, MCKINNEY, TX 75069", "McKinney"),  # the comma shape
        ("100 Main St DeSoto TX 75115", "DeSoto"),  # through usaddress
        ("2 Oak St, Winston-Salem, NC 27101", "Winston-Salem"),
        ("5 Elm St, ST. LOUIS, MO 63101", "St. Louis"),
    ],
)
def test_one_line_addresses_keep_the_city_spelling(line: str, city: str) -> None:
    parsed = parse_address(line)
    assert isinstance(parsed, ParsedAddress)
    assert parsed.city == city


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Apt. o31", "APT O31"), ("# 4", "#4"), ("Unit #4", "UNIT 4"), ("4", "#4"),
     ("Suite 200", "STE 200"), ("", None), (None, None)],
)  # fmt: skip
def test_units(raw: str | None, expected: str | None) -> None:
    assert normalize_unit(raw) == expected


def test_states_and_zips() -> None:
    assert normalize_state("Washington") == "WA"
    assert normalize_state("tx.") == "TX"
    assert normalize_state("Atlantis") is None
    assert normalize_zip("98178-1234") == "98178"
    assert normalize_zip(2134) == "02134"  # a CSV ate the leading zero
    assert normalize_zip(98178.0) == "98178"
    for bad in ("9817", "00000", "ABCDE", True, [1]):
        result = normalize_zip(bad)
        assert isinstance(result, Reason) and result.code == "zip_invalid"


def test_address_key_unifies_spellings_and_keeps_the_unit_apart() -> None:
    # given the same flat written three ways, and the building itself
    one = parse_address("9163 N.W. 26th Street Apt O31, Sunrise, FL 33322")
    other = normalize_street("9163 NW 26TH ST #o31")
    assert isinstance(one, ParsedAddress) and not isinstance(other, Reason)
    # when keyed
    key_one = address_key(one.street, one.unit, zip5=one.zip5)
    key_other = address_key(other.street, other.unit, zip5="33322")
    key_building = address_key(other.street, None, zip5="33322")
    # then the spellings agree and the building differs only in the unit slot
    assert key_one == key_other == "9163 nw 26th st|o31|33322"
    assert key_building == "9163 nw 26th st||33322"
    assert address_key("9163 NW 26th St", None, zip5=None, city="Sunrise", state="FL") == (
        "9163 nw 26th st||sunrise fl"
    )
    assert address_key(None, None, zip5="33322") is None
    assert address_key("9163 NW 26th St", None, zip5=None) is None


@pytest.mark.parametrize(
    "raw", [None, "", "   ", "!!!???", "x" * 5000, "PO BOX", 12345, "\x00\x01", "🏡🏡🏡"]
)
def test_bad_input_is_a_reason_never_an_exception(raw: object) -> None:
    result = parse_address(raw)
    assert isinstance(result, Reason | ParsedAddress)
    if isinstance(result, ParsedAddress):
        assert result.street is None
    street = normalize_street(raw)
    assert isinstance(street, Reason) or street.number is None
