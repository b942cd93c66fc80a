"""Coordinates: sanity checks against the declared metro, ZIP centroids, and H3 cells.

DESIGN §4: a lead keeps the source's point when it is believable, else its ZIP's centroid, and
records which (`geocode_precision`), so maps and dedupe know how far to trust it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import zipcodes

from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank
from aiqleads.kit.places import display_city
from aiqleads.metros import Metro

GeocodePrecision = Literal["exact", "zip_centroid", "none"]
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


@cache
def _zip_table() -> dict[str, ZipInfo]:
    # zipcodes.matching() scans a 42k list per call (~500 µs); one dict built once (~1 s) is
    # then a 50 ns lookup. Only the four fields we use are kept (~10 MB less than the dicts).
    table: dict[str, ZipInfo] = {}
    rows: list[dict[str, Any]] = zipcodes.list_all()  # type: ignore[no-untyped-call]
    for row in rows:
        try:
            table[row["zip_code"]] = ZipInfo(
                float(row["lat"]), float(row["long"]), _city(row["city"]), row["state"]
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a row without a usable centroid is as good as an unknown ZIP
    return table


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
