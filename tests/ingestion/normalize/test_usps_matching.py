"""Duplicates not merged (field case C12): the same address written differently across sources
gives one matching key. Our rules follow USPS Publication 28 (appendix C1 street suffixes, C2
secondary unit designators, directionals, highway and route names); the rows below take their
spellings from the standard's tables."""

from __future__ import annotations

import pytest

from aiqleads.ingestion.normalize.address import (
    StreetParts,
    address_key,
    normalize_street,
    parse_address,
)
from aiqleads.ingestion.normalize.usps import STREET_TYPES, UNIT_TYPES


def key(street: str, zip5: str = "89124") -> str | None:
    parts = normalize_street(street)
    assert isinstance(parts, StreetParts), parts
    return address_key(parts.street, parts.unit, zip5=zip5)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1909 N Highway 95", "1909 North Hwy 95"),  # C12
        ("3655 Las Vegas Blvd S UNIT 1203", "3655 S Las Vegas Blvd Unit 1203"),  # C12
        ("3655 Las Vegas Boulevard South #1203", "3655 S Las Vegas Blvd Apt 1203"),
        ("100 State Route 7", "100 SR-7"),
        ("300 Farm to Market Road 1960", "300 FM 1960"),
        ("100 IH-35 N", "100 North Interstate 35"),
        ("2544 US Highway 67", "2544 US-67"),
        ("12 County Road 45", "12 CR 45"),
        ("77 State Highway 71", "77 SH 71"),
        ("5510 KIMBALL AVENUE", "5510 Kimball Ave."),
        ("9163 N.W. 26th Street", "9163 NW 26th St"),
        ("400 Main Street Suite 200", "400 Main St Ste 200"),
        ("88 Route 66", "88 Rte 66"),
    ],
)
def test_one_address_written_two_ways_has_one_key(a: str, b: str) -> None:
    assert key(a) == key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("100 N Main St", "100 S Main St"),  # other side of the street's origin
        ("1909 N Hwy 95", "1909 N Hwy 93"),
        ("3655 S Las Vegas Blvd Unit 1203", "3655 S Las Vegas Blvd Unit 1204"),
        ("100 Main St", "102 Main St"),
        ("100 Main St", "100 Main Ave"),
    ],
)
def test_different_homes_keep_different_keys(a: str, b: str) -> None:
    assert key(a) != key(b)


def test_a_street_named_for_a_direction_keeps_it_as_its_name() -> None:
    assert key("100 N St") == "100 n st||89124"
    assert normalize_street("100 North St").street == "100 North St"  # type: ignore[union-attr]


def test_highway_designators_stay_capitals() -> None:
    assert normalize_street("2544 Fictional US-67").street == "2544 Fictional US Hwy 67"  # type: ignore[union-attr]
    assert normalize_street("300 fm 1960 rd").street == "300 FM 1960 Rd"  # type: ignore[union-attr]


def test_a_designator_without_a_number_is_a_name() -> None:
    assert normalize_street("9 Highway Dr").street == "9 Highway Dr"  # type: ignore[union-attr]
    assert normalize_street("1 Rt Hon Way").street == "1 Rt Hon Way"  # type: ignore[union-attr]


def test_one_line_addresses_get_the_same_rules() -> None:
    a = parse_address("1909 N Highway 95, Las Vegas, NV 89124")
    b = parse_address("1909 North Hwy 95, Las Vegas, NV 89124")
    assert not isinstance(a, str) and not isinstance(b, str)
    assert a.street == b.street == "1909 N Hwy 95"  # type: ignore[union-attr]


# Pub 28 appendix C1 (primary street suffix name → standard abbreviation) and C2 (secondary unit
# designators), a sample of rows as the standard prints them.
@pytest.mark.parametrize(
    ("written", "standard"),
    [("AVENUE", "Ave"), ("AV", "Ave"), ("BOULEVARD", "Blvd"), ("CIRCLE", "Cir"),
     ("COURT", "Ct"), ("DRIVE", "Dr"), ("EXPRESSWAY", "Expy"), ("FREEWAY", "Fwy"),
     ("HIGHWAY", "Hwy"), ("HIWAY", "Hwy"), ("LANE", "Ln"), ("PARKWAY", "Pkwy"),
     ("PLACE", "Pl"), ("ROAD", "Rd"), ("ROUTE", "Rte"), ("STREET", "St"), ("TERRACE", "Ter"),
     ("TRAIL", "Trl"), ("WAY", "Way"), ("CROSSING", "Xing")],
)  # fmt: skip
def test_pub28_street_suffixes(written: str, standard: str) -> None:
    assert STREET_TYPES[written] == standard


@pytest.mark.parametrize(
    ("written", "standard"),
    [("APARTMENT", "APT"), ("BUILDING", "BLDG"), ("FLOOR", "FL"), ("SUITE", "STE"),
     ("UNIT", "UNIT"), ("ROOM", "RM"), ("SPACE", "SPC"), ("TRAILER", "TRLR"), ("LOT", "LOT"),
     ("PENTHOUSE", "PH")],
)  # fmt: skip
def test_pub28_secondary_unit_designators(written: str, standard: str) -> None:
    assert UNIT_TYPES[written] == standard
