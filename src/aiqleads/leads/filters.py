"""The lead filter every reader shares (catalog, map layers, later recommendations): where, what,
which status, what price. A plain frozen value: `leads.visibility` turns it into SQL, caches turn
it into a key, services and benchmarks build it directly."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiqleads.errors import InvalidInput
from aiqleads.kit.places import city_key
from aiqleads.metros import METROS, Metro
from aiqleads.models.enums import LeadKind, LeadStatus

MAX_DOLLARS = 1_000_000_000  # a price filter above this is a typing error, not a search
MAX_BBOX_DEGREES = 10.0  # a metro fits easily; a continent is not a search
MAX_ZIPS = 100
OUTSIDE_METROS = "other"  # the data-version scope of leads in no metro (leads.versions)
_ZIP = re.compile(r"^\d{5}$")


@dataclass(frozen=True, slots=True)
class BBox:
    """A longitude/latitude box in WGS84 degrees."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @classmethod
    def parse(cls, raw: str, *, max_degrees: float = MAX_BBOX_DEGREES) -> BBox:
        """ "min_lon,min_lat,max_lon,max_lat" → BBox. Raises InvalidInput("bbox", why)."""
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
        if max_lon - min_lon > max_degrees or max_lat - min_lat > max_degrees:
            raise InvalidInput("bbox", f"may span at most {max_degrees} degrees each way")
        return cls(min_lon, min_lat, max_lon, max_lat)


@dataclass(frozen=True, slots=True)
class Area:
    """Where: a metro (its leads, by the stored `metro` column), a bounding box, both, or
    neither (everywhere; only the catalog allows that)."""

    metro: Metro | None = None
    bbox: BBox | None = None

    @property
    def bounded(self) -> bool:
        return self.metro is not None or self.bbox is not None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lon, min_lat, max_lon, max_lat) of the area (the bbox when given)."""
        if self.bbox is not None:
            b = self.bbox
            return b.min_lon, b.min_lat, b.max_lon, b.max_lat
        if self.metro is None:
            raise ValueError("an unbounded area has no bounds")
        return self.metro.bbox

    @property
    def centre(self) -> tuple[float, float]:
        """(lat, lon) used to fix grids and projections for the area."""
        if self.metro is not None and self.bbox is None:
            return self.metro.centre
        min_lon, min_lat, max_lon, max_lat = self.bounds
        return (min_lat + max_lat) / 2.0, (min_lon + max_lon) / 2.0

    @property
    def home_metro(self) -> Metro | None:
        """The metro the area belongs to: given, or the one holding the bbox centre."""
        if self.metro is not None:
            return self.metro
        if self.bbox is None:
            return None
        lat, lon = self.centre
        return next((m for m in METROS.values() if m.contains(lat, lon)), None)

    def scopes(self) -> tuple[str, ...]:
        """Data-version scopes whose leads can fall in the area (sorted).

        A metro is its own scope. A bbox touches every metro whose box it overlaps, plus the
        scope of leads outside all metros unless it lies wholly inside one metro's box (metro
        boxes do not overlap, so every lead in it then belongs to that metro). No area touches
        every scope.
        """
        if self.metro is not None and self.bbox is None:
            return (self.metro.slug,)
        if self.bbox is None:
            return (*sorted(m.slug for m in METROS.values()), OUTSIDE_METROS)
        min_lon, min_lat, max_lon, max_lat = self.bounds
        found: set[str] = set()
        inside_one = False
        for m in METROS.values():
            a, b, c, d = m.bbox
            if min_lon <= c and max_lon >= a and min_lat <= d and max_lat >= b:
                found.add(m.slug)
            if a <= min_lon and max_lon <= c and b <= min_lat and max_lat <= d:
                inside_one = True
        if not inside_one:
            found.add(OUTSIDE_METROS)
        if self.metro is not None:
            found &= {self.metro.slug}
        return tuple(sorted(found))

    def key(self) -> dict[str, Any]:
        return {
            "metro": self.metro.slug if self.metro else None,
            "bbox": list(self.bounds) if self.bbox else None,
        }


@dataclass(frozen=True, slots=True)
class LeadFilter:
    """Every filter a reader may apply. Prices are cents of the asking price; `city` is matched
    case-insensitively (`city_key`); an empty `statuses` means the reader's default."""

    area: Area = Area()
    zips: tuple[str, ...] = ()
    city: str | None = None
    kinds: tuple[LeadKind, ...] = ()
    statuses: tuple[LeadStatus, ...] = ()
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    beds_min: int | None = None
    baths_min: float | None = None
    listed_since: datetime | None = None

    def __post_init__(self) -> None:
        if len(self.zips) > MAX_ZIPS:
            raise InvalidInput("zip", f"at most {MAX_ZIPS} values")
        for z in self.zips:
            if not _ZIP.match(z):
                raise InvalidInput("zip", f"{z!r} is not a 5-digit ZIP code")
        if self.city is not None and not city_key(self.city):
            raise InvalidInput("city", "must not be blank")
        if (
            self.price_min_cents is not None
            and self.price_max_cents is not None
            and self.price_min_cents > self.price_max_cents
        ):
            raise InvalidInput("price_min", "must not exceed price_max")

    @property
    def city_key(self) -> str | None:
        return None if self.city is None else city_key(self.city)

    def key(self) -> dict[str, Any]:
        """The filter as plain JSON values, in a canonical order (for cache keys)."""
        return {
            **self.area.key(),
            "zips": sorted(set(self.zips)),
            "city": self.city_key,
            "kinds": sorted({k.value for k in self.kinds}),
            "statuses": sorted({s.value for s in self.statuses}),
            "price": [self.price_min_cents, self.price_max_cents],
            "beds_min": self.beds_min,
            "baths_min": self.baths_min,
            "listed_since": self.listed_since.isoformat() if self.listed_since else None,
        }
