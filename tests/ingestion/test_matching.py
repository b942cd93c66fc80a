"""The pairwise rules of `matching`: the kinds of false merge proximity used to make (homes
next door, units of one building, a resale, ZIP-centroid points), several shapes of each, and
the true duplicates across sources that must still merge."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from aiqleads.ingestion.matching import (
    LOT_ROUNDING_SQFT,
    Listing,
    MatchPolicy,
    fact_conflict,
    match_rule,
)

POLICY = MatchPolicy()
# King County 7129300520: 3 bd / 1 ba, 1,180 sqft on a 5,650 sqft lot, built 1955, $221,900.
HOME = Listing(
    address_key="10 ne 8th st||98178",
    phone_hmac="owner-1",
    latitude=47.5112,
    longitude=-122.257,
    exact=True,
    bedrooms=3,
    bathrooms=1.0,
    asking_price_cents=22_190_000,
    living_area_sqft=1180,
    lot_sqft=5650,
    year_built=1955,
)
# The same kind of record from a source that gives no address and no owner phone (a classified
# ad with a map pin): only proximity and the facts can tie it to a stored home.
PIN = replace(HOME, address_key=None, phone_hmac=None)


def north(listing: Listing, metres: float) -> Listing:
    assert listing.latitude is not None
    return replace(listing, latitude=listing.latitude + metres / 111_195)


def east(listing: Listing, metres: float) -> Listing:
    assert listing.latitude is not None and listing.longitude is not None
    per_degree = 111_195 * math.cos(math.radians(listing.latitude))
    return replace(listing, longitude=listing.longitude + metres / per_degree)


# --- homes next door ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("neighbour", "fact"),
    [
        # a bigger house on the next lot, everything else equal
        (replace(north(PIN, 15), living_area_sqft=1340), "living_area"),
        # one built in another decade on a lot split in two, same size
        (replace(east(PIN, 12), year_built=1978), "year_built"),
        # a four-bedroom next door at the same price
        (replace(north(PIN, 20), bedrooms=4), "bedrooms"),
        # the same plan with another bath count
        (replace(north(PIN, 9), bathrooms=1.75), "bathrooms"),
        # the same house plan on a larger lot (7,242 sqft, the neighbour's real lot)
        (replace(east(PIN, 18), lot_sqft=7242), "lot_area"),
    ],
)
def test_a_house_next_door_with_another_fact_is_not_merged(neighbour: Listing, fact: str) -> None:
    # Given a stored home and, within 30 m, a record without address whose price agrees
    # When the rules compare them
    # Then the fact that differs keeps them apart, and says which
    assert fact_conflict(HOME, neighbour, POLICY) == fact
    assert match_rule(HOME, neighbour, POLICY) is None
    assert match_rule(neighbour, HOME, POLICY) is None


@pytest.mark.parametrize("number", ["12", "8", "10-1/2", "1010"])
def test_a_house_next_door_with_its_own_number_is_never_merged(number: str) -> None:
    # Given the next house of an identical row: same facts, same point (King County rounds to
    # four decimals, so townhouses share coordinates), but its own house number
    other = replace(HOME, address_key=f"{number} ne 8th st||98178", phone_hmac=None)
    # Then the house number alone keeps them apart
    assert match_rule(HOME, other, POLICY) is None


# --- units of one building ------------------------------------------------------------------

CONDO = replace(HOME, address_key="1200 pine st|4a|98101", lot_sqft=40_000, year_built=2008)


@pytest.mark.parametrize(
    "other",
    [
        replace(CONDO, address_key="1200 pine st|4b|98101", phone_hmac=None),  # the next unit
        replace(CONDO, address_key="1200 pine st||98101", phone_hmac=None),  # the building
        # one landlord listing two units: the same phone is no evidence of the same unit
        replace(CONDO, address_key="1200 pine st|5a|98101"),
    ],
)
def test_another_unit_of_the_building_is_not_merged(other: Listing) -> None:
    assert match_rule(CONDO, other, POLICY) is None


def test_a_unit_pinned_at_the_building_with_another_floor_plan_is_not_merged() -> None:
    # Given a unit listed with a pin at the building's point and no address, a larger plan
    studio = replace(CONDO, address_key=None, phone_hmac=None, living_area_sqft=640, bedrooms=None)
    # Then its living area keeps it apart from the stored unit though nothing else differs
    assert match_rule(CONDO, studio, POLICY) is None


# --- a resale -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "later",
    [
        # sold again two years on for 20 % more
        replace(PIN, asking_price_cents=26_628_000),
        # torn down and rebuilt on the same lot
        replace(PIN, living_area_sqft=2400, year_built=2014, asking_price_cents=22_500_000),
        # an addition: the same year built, a third more living area
        replace(PIN, living_area_sqft=1580, asking_price_cents=22_600_000),
    ],
)
def test_a_resale_found_only_by_proximity_is_not_merged(later: Listing) -> None:
    assert match_rule(HOME, later, POLICY) is None


def test_a_resale_at_the_same_address_is_the_same_property() -> None:
    # The address names the property, so a later sale is another sighting of its lead (the
    # price history keeps both prices); only proximity needs the facts to agree.
    later = replace(HOME, phone_hmac="owner-2", living_area_sqft=1580, asking_price_cents=1)
    assert match_rule(HOME, later, POLICY) == "address"


# --- ZIP-centroid points --------------------------------------------------------------------

CENTROID = (47.4968, -122.2512)  # a ZIP's centre, not a home


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # two homes known only to their ZIP land on one point
        (
            replace(PIN, latitude=CENTROID[0], longitude=CENTROID[1], exact=False),
            replace(PIN, latitude=CENTROID[0], longitude=CENTROID[1], exact=False),
        ),
        # an exact home and a centroid that happens to fall on it
        (
            replace(HOME, latitude=CENTROID[0], longitude=CENTROID[1]),
            replace(PIN, latitude=CENTROID[0], longitude=CENTROID[1], exact=False),
        ),
        # a centroid a few metres from an exact home
        (
            replace(HOME, latitude=CENTROID[0], longitude=CENTROID[1]),
            north(replace(PIN, latitude=CENTROID[0], longitude=CENTROID[1], exact=False), 5),
        ),
    ],
)
def test_a_zip_centroid_point_never_merges_by_proximity(a: Listing, b: Listing) -> None:
    assert match_rule(a, b, POLICY) is None


def test_a_zip_centroid_with_the_owners_phone_merges_by_phone() -> None:
    coarse = replace(HOME, address_key=None, latitude=47.5, longitude=-122.3, exact=False)
    assert match_rule(HOME, coarse, POLICY) == "phone"


def test_the_same_phone_with_another_fact_is_not_merged() -> None:
    # One owner selling two homes: the phone matches, the living area does not
    second_home = replace(HOME, address_key=None, living_area_sqft=2210, exact=False)
    assert match_rule(HOME, second_home, POLICY) is None


# --- true duplicates across sources ---------------------------------------------------------


@pytest.mark.parametrize(
    "sighting",
    [
        north(PIN, 25),  # another geocoder's point for the address
        replace(east(PIN, 20), asking_price_cents=22_900_000),  # a 3 % dearer repost
        replace(north(PIN, 5), living_area_sqft=1200),  # area rounded to 50 sqft
        # the lot in acres to two decimals: 0.13 ac = 5,663 sqft
        replace(north(PIN, 5), lot_sqft=round(0.13 * 43_560)),
        replace(north(PIN, 5), year_built=None),  # a source that gives no year
        replace(north(PIN, 5), year_built=1956),  # the year it finished, not the permit's
        # a source that gives only bedrooms and a price
        replace(
            north(PIN, 5), bathrooms=None, living_area_sqft=None, lot_sqft=None, year_built=None
        ),
        replace(north(HOME, 10), address_key="10 ne 8ht st||98178"),  # a typo in the street
    ],
)
def test_the_same_home_from_another_source_still_merges(sighting: Listing) -> None:
    assert fact_conflict(HOME, sighting, POLICY) is None
    assert match_rule(HOME, sighting, POLICY) in ("proximity", "phone")


def test_lot_tolerance_never_drops_below_acre_rounding() -> None:
    # Given a small lot (905 sqft) shown by another source as 0.03 acre (1,307 sqft): 31 % off
    small = replace(HOME, lot_sqft=905)
    acres = replace(north(PIN, 5), lot_sqft=round(0.03 * 43_560))
    # Then the rounding of acres is allowed, and one square foot more is not
    assert match_rule(small, acres, POLICY) == "proximity"
    beyond = replace(acres, lot_sqft=905 + math.ceil(LOT_ROUNDING_SQFT) + 1)
    assert fact_conflict(small, beyond, POLICY) == "lot_area"


@pytest.mark.parametrize(
    "bad", [replace(PIN, living_area_sqft=0), replace(PIN, lot_sqft=-1), replace(PIN, lot_sqft=0)]
)
def test_a_fact_that_is_not_positive_is_unknown_not_a_conflict(bad: Listing) -> None:
    assert fact_conflict(HOME, bad, POLICY) is None
