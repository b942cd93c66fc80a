"""Where a point or ZIP is: in the United States, in which served metro, by county (not by a
padded box).

`metros.Metro.contains` is a padded bounding box: quick, and what the write path uses to name
a lead's metro, but it takes in the next county (a Dallas box holds parts of Ellis and Kaufman
counties). Whether a record belongs to the metro it was ingested for is decided here: its point
inside one of the metro's county polygons, or its ZIP in one of the metro's counties (USPS's
county of the ZIP, from the `zipcodes` package). A point outside the nation's outline is not a
US lead.

Polygons: us-atlas 1:10M (see geo/boundaries/README.md), simplified by up to about a kilometre,
so points are tested against the outlines grown by a tolerance stated in degrees (0.01° is
about 1.1 km north-south; a listing on a county line is not refused for the simplification).
"""

from __future__ import annotations

import gzip
import json
import math
from functools import cache
from importlib import resources
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from aiqleads.ingestion.normalize.coordinates import zip_info
from aiqleads.metros import METROS, Metro

COUNTY_TOLERANCE_DEGREES = 0.01
NATION_TOLERANCE_DEGREES = 0.02
# State FIPS codes of the metros' states → USPS state codes (for the ZIP's county).
_STATE_OF_FIPS = {"04": "AZ", "32": "NV", "48": "TX", "53": "WA"}


# Most points sit well inside or well outside an outline: a grid of 0.05° cells remembers which
# cells are wholly in or out, so only points in cells on an edge cost a polygon test (~20 µs).
_CELL_DEGREES = 0.05


class _Region:
    """A prepared polygon with a cache of grid cells known to be wholly inside or outside."""

    def __init__(self, geom: BaseGeometry) -> None:
        shapely.prepare(geom)
        self.geom = geom
        self.cells: dict[tuple[int, int], int] = {}  # 1 inside, 0 outside, -1 on an edge

    def contains(self, lat: float, lon: float) -> bool:
        key = (math.floor(lat / _CELL_DEGREES), math.floor(lon / _CELL_DEGREES))
        state = self.cells.get(key)
        if state is None:
            y, x = key[0] * _CELL_DEGREES, key[1] * _CELL_DEGREES
            cell = shapely.box(x, y, x + _CELL_DEGREES, y + _CELL_DEGREES)
            if self.geom.contains(cell):
                state = 1
            elif self.geom.disjoint(cell):
                state = 0
            else:
                state = -1
            self.cells[key] = state
        if state >= 0:
            return bool(state)
        return bool(shapely.contains_xy(self.geom, lon, lat))


def _load(name: str) -> list[dict[str, Any]]:
    raw = resources.files("aiqleads.geo").joinpath("boundaries", name).read_bytes()
    features: list[dict[str, Any]] = json.loads(gzip.decompress(raw))["features"]
    return features


@cache
def _nation() -> _Region:
    (feature,) = _load("us_nation_us_atlas_10m.geojson.gz")
    return _Region(shape(feature["geometry"]).buffer(NATION_TOLERANCE_DEGREES))


@cache
def _counties() -> dict[str, _Region]:
    out = {}
    for feature in _load("metro_counties_us_atlas_10m.geojson.gz"):
        grown = shape(feature["geometry"]).buffer(COUNTY_TOLERANCE_DEGREES)
        out[str(feature["id"])] = _Region(grown)
    return out


def in_us(lat: float, lon: float) -> bool:
    """Whether the point lies in the United States (its outline grown by the tolerance)."""
    return _nation().contains(lat, lon)


def county_of_point(metro: Metro, lat: float, lon: float) -> str | None:
    """The FIPS code of the metro's county holding the point, or None."""
    shapes = _counties()
    if not metro.contains(lat, lon):  # the box first: most points are nowhere near
        return None
    for county in metro.counties:
        geom = shapes.get(county.fips)
        if geom is not None and geom.contains(lat, lon):
            return county.fips
    return None


def county_of_zip(metro: Metro, zip5: str) -> str | None:
    """The FIPS code of the metro's county USPS places the ZIP in, or None."""
    info = zip_info(zip5)
    if info is None:
        return None
    state, county = info.state, info.county
    for c in metro.counties:
        if _STATE_OF_FIPS.get(c.fips[:2]) == state and c.name == county:
            return c.fips
    return None


def metro_of_zip(zip5: str) -> Metro | None:
    """The served metro whose counties hold the ZIP, or None."""
    for metro in METROS.values():
        if county_of_zip(metro, zip5) is not None:
            return metro
    return None
