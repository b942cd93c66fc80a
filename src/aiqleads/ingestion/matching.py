"""When two listings are the same home: the cross-source deduplication rules, pure.

Rules, first that applies wins:
- `address`: the same normalized address key (street, unit and locality);
- `phone`: the same owner phone (blind index) and agreeing facts;
- `proximity`: both exact points within the radius and agreeing facts.
Facts agree when bedrooms and bathrooms are equal where both are known and both asking prices
are known and within the tolerance. Two different house numbers or units never match: that is
what keeps neighbouring houses and the units of one building apart, while a typo in the street
name (same number and unit) can still match by phone or proximity.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiqleads.kit.distance import haversine_m


@dataclass(frozen=True, slots=True)
class Listing:
    address_key: str | None
    phone_hmac: str | None
    latitude: float | None
    longitude: float | None
    exact: bool  # the point is the source's own, not a ZIP centroid
    bedrooms: int | None
    bathrooms: float | None
    asking_price_cents: int | None


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    radius_m: float = 30.0
    price_tolerance: float = 0.05


def _number_and_unit(key: str) -> tuple[str, str]:
    street, _, rest = key.partition("|")
    unit = rest.partition("|")[0]
    number = street.partition(" ")[0]
    return number if number[:1].isdigit() else "", unit


def addresses_conflict(a: Listing, b: Listing) -> bool:
    if not a.address_key or not b.address_key:
        return False
    num_a, unit_a = _number_and_unit(a.address_key)
    num_b, unit_b = _number_and_unit(b.address_key)
    return unit_a != unit_b or bool(num_a and num_b and num_a != num_b)


def prices_agree(a: int | None, b: int | None, tolerance: float) -> bool:
    if a is None or b is None or a <= 0 or b <= 0:
        return False
    return abs(a - b) <= tolerance * max(a, b)


def facts_agree(a: Listing, b: Listing, policy: MatchPolicy) -> bool:
    if a.bedrooms is not None and b.bedrooms is not None and a.bedrooms != b.bedrooms:
        return False
    if a.bathrooms is not None and b.bathrooms is not None and a.bathrooms != b.bathrooms:
        return False
    return prices_agree(a.asking_price_cents, b.asking_price_cents, policy.price_tolerance)


def within(a: Listing, b: Listing, radius_m: float) -> bool:
    if not (a.exact and b.exact):
        return False  # two ZIP centroids coincide without saying anything about the homes
    if a.latitude is None or a.longitude is None or b.latitude is None or b.longitude is None:
        return False
    return haversine_m(a.latitude, a.longitude, b.latitude, b.longitude) < radius_m


def match_rule(a: Listing, b: Listing, policy: MatchPolicy) -> str | None:
    """The rule by which `a` and `b` are the same home, or None."""
    if a.address_key and a.address_key == b.address_key:
        return "address"
    if addresses_conflict(a, b) or not facts_agree(a, b, policy):
        return None
    if a.phone_hmac and a.phone_hmac == b.phone_hmac:
        return "phone"
    if within(a, b, policy.radius_m):
        return "proximity"
    return None
