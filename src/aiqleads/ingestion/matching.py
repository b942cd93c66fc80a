"""When two listings are the same home: the cross-source deduplication rules, pure.

Rules, first that applies wins:
- `address`: the same normalized address key (street, unit and locality);
- `phone`: the same owner phone (blind index) and agreeing facts;
- `proximity`: both exact points within the radius and agreeing facts.

Facts agree when nothing known on both sides tells the two homes apart: bedrooms and bathrooms
equal, living area, lot area and year built within their tolerances (`MatchPolicy`), and both
asking prices known and within the price tolerance. A fact missing on either side neither
agrees nor disagrees. Two different house numbers or units never match: that is what keeps
neighbouring houses and the units of one building apart, while a typo in the street name (same
number and unit) can still match by phone or proximity.

Proximity is the weakest of the three: homes next door are within 30 m of each other, so a
proximity match needs every known fact to agree. What proximity cannot tell apart (a row of
identical new townhouses, all with the same facts) the dedupe stage leaves unmerged when more
than one home matches (see `stages.dedupe`).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiqleads.kit.distance import haversine_m

# Two sources that show one lot in acres rounded to two decimals (0.13 ac) may each be off by
# up to 0.005 acre, so they can differ by 0.01 acre: 435.6 sqft (1 acre = 43,560 sqft).
LOT_ROUNDING_SQFT = 435.6


@dataclass(frozen=True, slots=True)
class Listing:
    """What the rules compare. Areas are square feet, the year is the calendar year built,
    prices are cents; None is unknown."""

    address_key: str | None
    phone_hmac: str | None
    latitude: float | None
    longitude: float | None
    exact: bool  # the point is the source's own, not a ZIP centroid
    bedrooms: int | None
    bathrooms: float | None
    asking_price_cents: int | None
    living_area_sqft: int | None = None
    lot_sqft: int | None = None
    year_built: int | None = None


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """Tolerances of the rules.

    - `radius_m`: metres between two exact points of one home (geocoders place one address a
      few metres to tens of metres apart: roof, parcel centroid, street frontage);
    - `price_tolerance`: relative difference of two asking prices of one listing;
    - `living_area_tolerance`: relative difference of two living areas of one home (sources
      round, and some count a finished basement or garage conversion the other leaves out);
    - `lot_tolerance`: relative difference of two lot areas, never less than the two-decimal
      acre rounding `LOT_ROUNDING_SQFT`;
    - `year_built_tolerance`: years between two years built of one home (the year the permit
      was issued or the home finished, the effective year after a remodel).

    The three fact tolerances were chosen on the labelled set (`evaluation`): King County
    homes within 30 m of each other differ by more, the same home written by two sources by less.
    """

    radius_m: float = 30.0
    price_tolerance: float = 0.05
    living_area_tolerance: float = 0.05
    lot_tolerance: float = 0.10
    year_built_tolerance: int = 1


def _number_and_unit(key: str) -> tuple[str, str]:
    street, _, rest = key.partition("|")
    unit = rest.partition("|")[0]
    number = street.partition(" ")[0]
    return number if number[:1].isdigit() else "", unit


def addresses_conflict(a: Listing, b: Listing) -> bool:
    """Both addresses are known and name another house number or another unit."""
    if not a.address_key or not b.address_key:
        return False
    num_a, unit_a = _number_and_unit(a.address_key)
    num_b, unit_b = _number_and_unit(b.address_key)
    return unit_a != unit_b or bool(num_a and num_b and num_a != num_b)


def prices_agree(a: int | None, b: int | None, tolerance: float) -> bool:
    """Both prices known, positive and within `tolerance` of the larger one."""
    if a is None or b is None or a <= 0 or b <= 0:
        return False
    return abs(a - b) <= tolerance * max(a, b)


def _within_relative(a: float | None, b: float | None, tolerance: float, floor: float) -> bool:
    """True when either is unknown or not positive (nothing to compare), or when they differ
    by at most `tolerance` of the larger one and at least `floor` is always allowed."""
    if a is None or b is None or a <= 0 or b <= 0:
        return True
    return abs(a - b) <= max(tolerance * max(a, b), floor)


def fact_conflict(a: Listing, b: Listing, policy: MatchPolicy) -> str | None:
    """The first fact known on both sides that tells the two homes apart ("bedrooms",
    "bathrooms", "living_area", "lot_area", "year_built"), or None. Prices are not facts of
    the home: see `facts_agree`."""
    if a.bedrooms is not None and b.bedrooms is not None and a.bedrooms != b.bedrooms:
        return "bedrooms"
    if a.bathrooms is not None and b.bathrooms is not None and a.bathrooms != b.bathrooms:
        return "bathrooms"
    if not _within_relative(
        a.living_area_sqft, b.living_area_sqft, policy.living_area_tolerance, 0.0
    ):
        return "living_area"
    if not _within_relative(a.lot_sqft, b.lot_sqft, policy.lot_tolerance, LOT_ROUNDING_SQFT):
        return "lot_area"
    if (
        a.year_built is not None
        and b.year_built is not None
        and abs(a.year_built - b.year_built) > policy.year_built_tolerance
    ):
        return "year_built"
    return None


def facts_agree(a: Listing, b: Listing, policy: MatchPolicy) -> bool:
    """No known fact tells the homes apart and both asking prices agree."""
    if fact_conflict(a, b, policy) is not None:
        return False
    return prices_agree(a.asking_price_cents, b.asking_price_cents, policy.price_tolerance)


def within(a: Listing, b: Listing, radius_m: float) -> bool:
    """Both points exact and closer than `radius_m` metres (haversine)."""
    if not (a.exact and b.exact):
        return False  # two ZIP centroids coincide without saying anything about the homes
    if a.latitude is None or a.longitude is None or b.latitude is None or b.longitude is None:
        return False
    return haversine_m(a.latitude, a.longitude, b.latitude, b.longitude) < radius_m


def match_rule(a: Listing, b: Listing, policy: MatchPolicy) -> str | None:
    """The rule by which `a` and `b` are the same home ("address", "phone", "proximity"), or
    None."""
    if a.address_key and a.address_key == b.address_key:
        return "address"
    if addresses_conflict(a, b) or not facts_agree(a, b, policy):
        return None
    if a.phone_hmac and a.phone_hmac == b.phone_hmac:
        return "phone"
    if within(a, b, policy.radius_m):
        return "proximity"
    return None
