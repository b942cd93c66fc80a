"""Great-circle distance in metres (DESIGN: distances are metres, never degrees)."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
# A degree box's margin, about 0.1 mm: far above the formulas' rounding (~1e-13 degrees), far
# below any use.
_EDGE_DEG = 1e-9


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def degree_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon), degrees, enclosing every point within `radius_m`
    great-circle metres of (`lat`, `lon`): for an index range query that exact distance narrows.
    Raises ValueError for coordinates that are not finite or a radius that is negative or not
    finite.

    The longitude half-width is asin(sin δ / cos φ) for the angular radius δ at latitude φ, the
    meridians tangent to the circle (J. P. Matuschek, "Finding Points Within a Distance of a
    Latitude/Longitude Using Bounding Coordinates", 2010, section 3.3). Where the circle holds
    a pole or crosses the antimeridian no single degree range encloses it: the box is then the
    band of its latitudes around the whole globe (longitudes -180 to 180), a superset."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError(f"coordinates must be finite, not ({lat!r}, {lon!r})")
    if not (math.isfinite(radius_m) and radius_m >= 0):
        raise ValueError(f"radius must be a finite number of metres >= 0, not {radius_m!r}")
    delta = radius_m / EARTH_RADIUS_M
    # Grown by _EDGE_DEG so a point exactly on the circle is inside despite rounding.
    dlat = math.degrees(delta) + _EDGE_DEG
    lat_lo, lat_hi = lat - dlat, lat + dlat
    if lat_lo <= -90.0 or lat_hi >= 90.0:
        return max(lat_lo, -90.0), min(lat_hi, 90.0), -180.0, 180.0
    # With the pole outside the circle, |φ| + δ < 90°, so sin δ < cos φ and the asin is defined.
    dlon = math.degrees(math.asin(math.sin(delta) / math.cos(math.radians(lat)))) + _EDGE_DEG
    if lon - dlon <= -180.0 or lon + dlon >= 180.0:
        return lat_lo, lat_hi, -180.0, 180.0
    return lat_lo, lat_hi, lon - dlon, lon + dlon
