"""The normalised lead filter of every geo endpoint, and who may see which leads.

Both are plain frozen values: the repository turns them into SQL, the cache turns them into a
key. Keeping them here (not in pydantic schemas) lets services and the benchmark build them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiqleads.leads.query import BBox
from aiqleads.metros import METROS, Metro
from aiqleads.models.enums import LeadKind, LeadStatus

ON_MARKET = (LeadStatus.AVAILABLE, LeadStatus.HELD)
OFFERED = (*ON_MARKET, LeadStatus.SOLD)  # the supply penetration and competition count
# Statuses an agent may ask for; sold means "the ones I bought" (see `Visibility`).
AGENT_STATUSES = frozenset({*ON_MARKET, LeadStatus.SOLD})
OUTSIDE_METROS = "other"  # the data-version scope of leads in no metro (leads.versions)


@dataclass(frozen=True, slots=True)
class Area:
    """Where: a metro (its leads, by the stored `metro` column) or a bounding box."""

    metro: Metro | None = None
    bbox: BBox | None = None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lon, min_lat, max_lon, max_lat) of the area."""
        if self.bbox is not None:
            b = self.bbox
            return b.min_lon, b.min_lat, b.max_lon, b.max_lat
        assert self.metro is not None
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
        lat, lon = self.centre
        return next((m for m in METROS.values() if m.contains(lat, lon)), None)

    def scopes(self) -> tuple[str, ...]:
        """Data-version scopes whose leads can fall in the area (sorted).

        A metro is its own scope. A bbox touches every metro whose box it overlaps, plus the
        scope of leads outside all metros unless it lies wholly inside one metro's box (metro
        boxes do not overlap, so every lead in it then belongs to that metro).
        """
        if self.bbox is None:
            assert self.metro is not None
            return (self.metro.slug,)
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
        return tuple(sorted(found))

    def key(self) -> dict[str, Any]:
        return {
            "metro": self.metro.slug if self.metro else None,
            "bbox": list(self.bounds) if self.bbox else None,
        }


@dataclass(frozen=True, slots=True)
class LeadFilter:
    """The common filters: where, what kind, which status, asking price (cents), listed since."""

    area: Area
    kinds: tuple[LeadKind, ...] = ()
    statuses: tuple[LeadStatus, ...] = ON_MARKET
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    listed_since: datetime | None = None

    def key(self) -> dict[str, Any]:
        return {
            **self.area.key(),
            "kinds": sorted(k.value for k in self.kinds),
            "statuses": sorted(s.value for s in self.statuses),
            "price": [self.price_min_cents, self.price_max_cents],
            "listed_since": self.listed_since.isoformat() if self.listed_since else None,
        }


@dataclass(frozen=True, slots=True)
class Visibility:
    """Which leads the caller may see, and how widely an answer built on them may be shared.

    Admins (`account_id` None, `visible_before` None) see every status. An agent sees on-market
    leads published before its tier's priority window closed, and sold leads only when it
    bought them, exactly like the catalog. `cache_class` names everyone who would get the same
    answer: "admin", "tier:<name>", or "account:<id>" once "my" purchases are involved.
    """

    account_id: int | None
    visible_before: datetime | None
    cache_class: str

    @property
    def is_admin(self) -> bool:
        return self.account_id is None
