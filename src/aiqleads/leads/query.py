"""The catalog's search parameters, checked, with one place that names the sort orders."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from aiqleads.errors import InvalidInput
from aiqleads.kit.places import display_city
from aiqleads.models.enums import LeadKind, LeadStatus

_ZIP = re.compile(r"^\d{5}$")
MAX_BBOX_DEGREES = 10.0  # a metro fits easily; a continent is not a catalog search


class SortKey(StrEnum):
    NEWEST = "-published_at"
    OLDEST = "published_at"
    ASKING_PRICE_ASC = "asking_price"
    ASKING_PRICE_DESC = "-asking_price"
    PRICE_ASC = "price"
    PRICE_DESC = "-price"
    SCORE_DESC = "-score"
    SCORE_ASC = "score"

    @property
    def column(self) -> str:
        return {
            "published_at": "published_at",
            "asking_price": "asking_price_cents",
            "price": "price_cents",
            "score": "score",
        }[self.value.lstrip("-")]

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")

    @property
    def nullable(self) -> bool:
        return self.column in {"asking_price_cents", "score"}


@dataclass(frozen=True, slots=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @classmethod
    def parse(cls, raw: str) -> BBox:
        parts = raw.split(",")
        if len(parts) != 4:
            raise InvalidInput("bbox", "must be min_lon,min_lat,max_lon,max_lat")
        try:
            min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
        except ValueError as exc:
            raise InvalidInput("bbox", "all four values must be numbers") from exc
        if not all(-180 <= v <= 180 for v in (min_lon, max_lon)):
            raise InvalidInput("bbox", "longitudes must be within -180..180")
        if not all(-90 <= v <= 90 for v in (min_lat, max_lat)):
            raise InvalidInput("bbox", "latitudes must be within -90..90")
        if min_lon >= max_lon or min_lat >= max_lat:
            raise InvalidInput("bbox", "min must be below max for both longitude and latitude")
        if max_lon - min_lon > MAX_BBOX_DEGREES or max_lat - min_lat > MAX_BBOX_DEGREES:
            raise InvalidInput("bbox", f"may span at most {MAX_BBOX_DEGREES} degrees each way")
        return cls(min_lon, min_lat, max_lon, max_lat)


@dataclass(frozen=True, slots=True)
class CatalogQuery:
    bbox: BBox | None = None
    zips: tuple[str, ...] = ()
    city: str | None = None
    kinds: tuple[LeadKind, ...] = ()
    statuses: tuple[LeadStatus, ...] = ()
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    beds_min: int | None = None
    baths_min: float | None = None
    listed_since: datetime | None = None
    sort: SortKey = SortKey.NEWEST
    limit: int = 50
    cursor: list[object] | None = field(default=None)

    def __post_init__(self) -> None:
        for z in self.zips:
            if not _ZIP.match(z):
                raise InvalidInput("zip", f"{z!r} is not a 5-digit ZIP code")
        if (
            self.price_min_cents is not None
            and self.price_max_cents is not None
            and self.price_min_cents > self.price_max_cents
        ):
            raise InvalidInput("price_min", "must not exceed price_max")


def canonical_city(city: str) -> str:
    """Deprecated: `kit.places.display_city`, kept only for `sample/kc_sales.py`, which goes.

    It used to capitalise each word, so "McKinney" became "Mckinney" and the catalog filter
    missed leads stored as "McKinney". Filters should match on `kit.places.city_key`.
    """
    return display_city(city) or city
