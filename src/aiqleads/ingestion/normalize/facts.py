"""Property facts: bedrooms, bathrooms, areas, year built, and the lead kind."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from aiqleads.ingestion.normalize.numbers import leading_decimal
from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank

Kind = Literal["fsbo", "for_sale", "for_rent", "expired", "other"]

SQFT_PER_ACRE = 43_560
SQFT_PER_SQM = Decimal("10.7639104")
# Plausible ranges: outside them the value is a typo, a price in the wrong column, or a unit slip.
MAX_BEDROOMS = 50
MAX_BATHROOMS = 50
LIVING_SQFT_RANGE = (50, 100_000)
LOT_SQFT_RANGE = (100, 1_000_000_000)  # ~23,000 acres: ranches exist, continents do not
MIN_YEAR_BUILT = 1700

_STUDIO_RE = re.compile(r"\bstudio\b")
_ACRE_RE = re.compile(r"^(acres?|ac)\b")
_SQM_RE = re.compile(r"^(m2|m²|sq\.?\s*m|square\s+met)")
_SQFT_RE = re.compile(r"^(ft2|ft²|sq\.?\s*f|sf\b|square\s+f|feet|ft\b)")


def _integral(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_bedrooms(raw: Any) -> int | Reason:
    """ "3br", "3bd", "3 beds", 3.0, "studio" → 3 / 0. Half bedrooms do not exist."""
    if isinstance(raw, str) and _STUDIO_RE.search(raw.lower()):
        return 0
    read = leading_decimal(raw, "bedrooms")
    if isinstance(read, Reason):
        return read
    value, _rest = read
    if value != value.to_integral_value():
        return Reason("bedrooms_unparseable", clip(raw))
    if not 0 <= value <= MAX_BEDROOMS:
        return Reason("bedrooms_out_of_range", clip(raw))
    return int(value)


def parse_bathrooms(raw: Any) -> float | Reason:
    """ "2ba", "1.5", "2.5 baths", 2.25 (King County quarter baths) → float."""
    read = leading_decimal(raw, "bathrooms")
    if isinstance(read, Reason):
        return read
    value, _rest = read
    if not 0 <= value <= MAX_BATHROOMS:
        return Reason("bathrooms_out_of_range", clip(raw))
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _area_sqft(raw: Any, field: str) -> Decimal | Reason:
    # A bare number is square feet: RawRecord says so for both areas.
    read = leading_decimal(raw, field)
    if isinstance(read, Reason):
        return read
    value, rest = read
    if _ACRE_RE.match(rest):
        return value * SQFT_PER_ACRE
    if _SQM_RE.match(rest):
        return value * SQFT_PER_SQM
    if rest and not _SQFT_RE.match(rest):
        return Reason(f"{field}_unit_unknown", clip(raw))
    return value


def parse_living_area(raw: Any) -> int | Reason:
    """ "642ft2", "2000ft²", "1,234 sqft", "90 m²" → square feet."""
    sqft = _area_sqft(raw, "living_area")
    if isinstance(sqft, Reason):
        return sqft
    low, high = LIVING_SQFT_RANGE
    if not low <= sqft <= high:
        return Reason("living_area_out_of_range", clip(raw))
    return _integral(sqft)


def parse_lot_area(raw: Any) -> int | Reason:
    """ "5,650", "0.25 acres", "1 ac" → square feet. A bare number is square feet."""
    sqft = _area_sqft(raw, "lot_area")
    if isinstance(sqft, Reason):
        return sqft
    low, high = LOT_SQFT_RANGE
    if not low <= sqft <= high:
        return Reason("lot_area_out_of_range", clip(raw))
    return _integral(sqft)


def parse_year_built(raw: Any, *, current_year: int) -> int | Reason:
    """A plausible construction year, 1700 up to next year (new builds are listed early).

    0 is how several exports (King County's yr_renovated, MLS feeds) say "unknown".
    """
    if raw == 0 or raw == "0":
        return Reason("year_built_missing", "zero")
    read = leading_decimal(raw, "year_built")
    if isinstance(read, Reason):
        return read
    value, _rest = read
    if value != value.to_integral_value() or not MIN_YEAR_BUILT <= value <= current_year + 1:
        return Reason("year_built_out_of_range", clip(raw))
    return int(value)


_KINDS: dict[str, Kind] = {
    "fsbo": "fsbo", "for_sale_by_owner": "fsbo", "by_owner": "fsbo", "owner": "fsbo",
    "sale_by_owner": "fsbo", "reo": "for_sale",
    "for_sale": "for_sale", "sale": "for_sale", "forsale": "for_sale", "sold": "for_sale",
    "active": "for_sale", "pending": "for_sale", "new_construction": "for_sale",
    "foreclosure": "for_sale", "auction": "for_sale", "rea": "for_sale", "reb": "for_sale",
    "for_rent": "for_rent", "rent": "for_rent", "rental": "for_rent", "lease": "for_rent",
    "for_lease": "for_rent", "apa": "for_rent", "apartment": "for_rent", "sub": "for_rent",
    "roo": "for_rent", "hou": "for_rent", "vac": "for_rent",
    "expired": "expired", "withdrawn": "expired", "off_market": "expired", "cancelled": "expired",
    "canceled": "expired", "delisted": "expired",
    "other": "other",
}  # fmt: skip
_KIND_KEY_RE = re.compile(r"[^a-z0-9]+")


def normalize_kind(raw: Any, *, is_fsbo: bool | None = None) -> Kind:
    """Source kinds (Craigslist categories, Zillow statuses, free words) → our five kinds.

    An owner selling without an agent is fsbo whatever the source calls the listing; rentals
    stay rentals (an owner renting out is a landlord lead, not a seller).
    """
    key = _KIND_KEY_RE.sub("_", raw.lower()).strip("_") if isinstance(raw, str) else ""
    kind: Kind = _KINDS.get(key, "other")
    if is_fsbo and kind in ("for_sale", "other"):
        return "fsbo"
    return kind


def clean_text(raw: Any) -> str | None:
    """Whitespace collapsed, blanks as None; for titles, names and other free text."""
    if is_blank(raw) or not isinstance(raw, str):
        return None
    return " ".join(raw.split()) or None


def normalize_property_type(raw: Any) -> str | None:
    """ "Single Family" / "SINGLE_FAMILY" / "single-family" → "single_family"."""
    text = clean_text(raw)
    if text is None:
        return None
    return _KIND_KEY_RE.sub("_", text.lower()).strip("_") or None
