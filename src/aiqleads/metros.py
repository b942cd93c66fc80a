"""The metros the marketplace serves, as data.

County bounds are the shapely bounds of the us-atlas 3.0.1 county polygons (ISC, Census data):
Clark, Maricopa, Travis, Dallas and King from
shared/data/geo/counties_us_atlas/metro_counties_clark_maricopa_travis_dallas_king.geojson, the
other counties from us_counties_10m.geojson in the same folder. They are copied here as numbers so
that nothing reads shared/ at run time. A metro's bounding box is the union of its counties' bounds
padded by `BBOX_PAD_DEGREES`, because simplified polygons cut corners and listings on a county
line should not be rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

# About 11 km north-south: enough for simplification error and border listings, small enough not
# to swallow the next metro.
BBOX_PAD_DEGREES = 0.1

BBox = tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat


@dataclass(frozen=True, slots=True)
class County:
    fips: str
    name: str
    bounds: BBox


@dataclass(frozen=True, slots=True)
class Metro:
    slug: str
    name: str
    state: str
    counties: tuple[County, ...]
    centre: tuple[float, float]  # (lat, lon) of downtown
    bbox: BBox

    @property
    def county_fips(self) -> tuple[str, ...]:
        return tuple(county.fips for county in self.counties)

    def contains(self, lat: float, lon: float) -> bool:
        min_lon, min_lat, max_lon, max_lat = self.bbox
        return min_lat <= lat <= max_lat and min_lon <= lon <= max_lon


def _padded_union(counties: tuple[County, ...]) -> BBox:
    return (
        round(min(c.bounds[0] for c in counties) - BBOX_PAD_DEGREES, 4),
        round(min(c.bounds[1] for c in counties) - BBOX_PAD_DEGREES, 4),
        round(max(c.bounds[2] for c in counties) + BBOX_PAD_DEGREES, 4),
        round(max(c.bounds[3] for c in counties) + BBOX_PAD_DEGREES, 4),
    )


def _metro(
    slug: str, name: str, state: str, centre: tuple[float, float], *counties: County
) -> Metro:
    return Metro(slug, name, state, counties, centre, _padded_union(counties))


# Austin covers the Austin–Round Rock–San Marcos MSA (Travis, Williamson, Hays, Bastrop, Caldwell)
# so that the San Marcos Craigslist rentals belong to it. Dallas takes the four core DFW counties
# because Dallas Craigslist posts reach Plano, Lewisville and Fort Worth (only 57 % of the real
# posts' points fall inside Dallas County itself).
METROS: dict[str, Metro] = {
    m.slug: m
    for m in (
        _metro(
            "las_vegas",
            "Las Vegas",
            "NV",
            (36.1699, -115.1398),
            County("32003", "Clark", (-115.8968, 35.0015, -114.0447, 36.8536)),
        ),
        _metro(
            "phoenix",
            "Phoenix",
            "AZ",
            (33.4484, -112.0740),
            County("04013", "Maricopa", (-113.334, 32.505, -111.0405, 34.0479)),
        ),
        _metro(
            "austin",
            "Austin–Round Rock–San Marcos",
            "TX",
            (30.2672, -97.7431),
            County("48453", "Travis", (-98.1729, 30.0249, -97.3689, 30.628)),
            County("48491", "Williamson", (-98.0508, 30.4029, -97.1535, 30.9063)),
            County("48209", "Hays", (-98.2985, 29.7526, -97.7098, 30.3565)),
            County("48021", "Bastrop", (-97.6488, 29.787, -97.0243, 30.4192)),
            County("48055", "Caldwell", (-97.8929, 29.6306, -97.315, 30.0679)),
        ),
        _metro(
            "dallas",
            "Dallas",
            "TX",
            (32.7767, -96.7970),
            County("48113", "Dallas", (-97.0387, 32.5454, -96.5182, 32.9895)),
            County("48085", "Collin", (-96.8448, 32.9818, -96.2957, 33.4053)),
            County("48121", "Denton", (-97.3976, 32.9878, -96.8341, 33.4302)),
            County("48439", "Tarrant", (-97.5519, 32.5488, -97.0315, 32.9938)),
        ),
        _metro(
            "seattle",
            "Seattle",
            "WA",
            (47.6062, -122.3321),
            County("53033", "King", (-122.5262, 47.085, -121.0654, 47.7808)),
        ),
    )
}


class UnknownMetroError(KeyError):
    """A metro slug that is not configured: a caller's mistake, not bad data."""

    def __str__(self) -> str:
        return f"unknown metro {self.args[0]!r}; known metros: {', '.join(sorted(METROS))}"


def get_metro(slug: str) -> Metro:
    try:
        return METROS[slug]
    except KeyError:
        raise UnknownMetroError(slug) from None


def metro_for_point(lat: float, lon: float) -> Metro | None:
    """The metro whose bounding box holds the point; the boxes do not overlap."""
    for metro in METROS.values():
        if metro.contains(lat, lon):
            return metro
    return None
