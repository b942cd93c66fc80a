"""Coordinates: sanity checks against the declared metro, ZIP centroids, and H3 cells.

DESIGN §4: a lead keeps the source's point when it is believable, else its ZIP's centroid, and
records which (`geocode_precision`), so maps and dedupe know how far to trust it.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank
from aiqleads.kit.places import display_city
from aiqleads.metros import Metro

GeocodePrecision = Literal["exact", "zip_centroid", "none"]
ZIP_TABLE = "us_zip_centroids_zipcodes_3.0.0.csv.gz"
# The 50 states, DC and the territories fit in this box; used to decide a swap with no metro.
_US_LAT = (13.0, 72.0)
_US_LON = (-180.0, -64.0)
# A decimal degree as text, scientific notation included ("-1.22257E+02" is how a spreadsheet may
# write a longitude). Stricter than float(), which also takes "4_7.5", "infinity" and "nan".
_DEGREES_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,4})?")


@dataclass(frozen=True, slots=True)
class Point:
    lat: float
    lon: float
    swapped: bool = False  # the source had latitude and longitude the wrong way round


def _as_float(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float):
        value = raw
    elif isinstance(raw, int):
        if abs(raw) > 360:  # no angle; and float() of a huge int raises OverflowError
            return None
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if not _DEGREES_RE.fullmatch(text):
            return None
        value = float(text)  # an exponent too large gives inf, refused below
    else:
        return None
    return value if math.isfinite(value) else None


def _plausible(lat: float, lon: float, metro: Metro | None) -> bool:
    if metro is not None:
        return metro.contains(lat, lon)
    return _US_LAT[0] <= lat <= _US_LAT[1] and _US_LON[0] <= lon <= _US_LON[1]


def check_coordinates(lat_raw: Any, lon_raw: Any, *, metro: Metro | None = None) -> Point | Reason:
    """A believable point or why not: missing, (0, 0), out of range, outside the metro's box.

    A swapped pair is corrected only when it is unambiguous: the pair as given is not plausible
    (not in the metro, or not in the US when no metro is declared) and the swapped pair is.
    """
    if is_blank(lat_raw) or is_blank(lon_raw):
        return Reason("coordinates_missing", "")
    lat, lon = _as_float(lat_raw), _as_float(lon_raw)
    if lat is None or lon is None:
        return Reason("coordinates_unparseable", f"({clip(lat_raw)}, {clip(lon_raw)})")
    if lat == 0 and lon == 0:
        return Reason("coordinates_null_island", "(0, 0)")
    in_range = -90 <= lat <= 90 and -180 <= lon <= 180
    if (not in_range or not _plausible(lat, lon, metro)) and (
        -90 <= lon <= 90 and -180 <= lat <= 180 and _plausible(lon, lat, metro)
    ):
        return Point(lon, lat, swapped=True)
    if not in_range:
        return Reason("coordinates_out_of_range", f"({lat}, {lon})")
    if metro is not None and not metro.contains(lat, lon):
        return Reason("coordinates_out_of_metro", f"({lat}, {lon}) not in {metro.slug}")
    if metro is None and not _plausible(lat, lon, None):
        return Reason("coordinates_outside_us", f"({lat}, {lon})")
    return Point(lat, lon)


@dataclass(frozen=True, slots=True)
class ZipInfo:
    lat: float
    lon: float
    city: str  # USPS's preferred name, in our display spelling ("McKinney", "Isle of Palms")
    state: str
    county: str  # USPS's county of the ZIP, without "County" ("Clark", "Dallas")


@cache
def _zip_table() -> dict[str, ZipInfo]:
    # The `zipcodes` package's table (v3.0.0, every US ZIP), exported once to a compact CSV in
    # geo/boundaries: its own list_all() builds 42k dicts of 14 fields and keeps them, ~150 MB
    # for the life of the process; this table is the four fields we use, ~10 MB.
    table: dict[str, ZipInfo] = {}
    for row in zip_rows():
        try:
            county = row[5].removesuffix(" County").removesuffix(" Parish")
            table[row[0]] = ZipInfo(
                float(row[1]), float(row[2]), _city(row[3]), row[4], sys.intern(county)
            )
        except (IndexError, ValueError):
            continue  # a row without a usable centroid is as good as an unknown ZIP
    return table


def zip_rows() -> Iterator[list[str]]:
    """zip_code, lat, long, city, state, county of every US ZIP (see geo/boundaries/README)."""
    raw = resources.files("aiqleads.geo").joinpath("boundaries", ZIP_TABLE).read_bytes()
    reader = csv.reader(io.StringIO(gzip.decompress(raw).decode("utf-8"), newline=""))
    next(reader, None)  # the header
    yield from reader


def _city(usps: str) -> str:
    # USPS lists cities in capitals ("MCKINNEY"); the zipcodes package capitalises each word
    # ("Mckinney", "Isle Of Palms", "Winston-salem"). Read back as the capitals they were, they
    # get the same title case as any source's all-caps city. USPS has no punctuation, so
    # "Winston Salem" and "O Fallon" stay as USPS writes them: `city_key` matches them to
    # "Winston-Salem" and "O'Fallon".
    return display_city(usps.upper()) or usps


def zip_info(zip5: str) -> ZipInfo | None:
    return _zip_table().get(zip5)


def zip_centroid(zip5: str) -> tuple[float, float] | None:
    """(lat, lon) of a ZIP's centroid from the `zipcodes` package, None for unknown ZIPs."""
    info = _zip_table().get(zip5)
    return None if info is None else (info.lat, info.lon)
