"""The offline basemap: a metro's ZIP (Census ZCTA) outlines and its outer outline, as GeoJSON.

The web app draws these under the analytics layers when no tile style is configured
(AIQ_WEB__TILE_STYLE_URL), so the map works with no network. They come from the bundled ZCTA
files (`aiqleads.geo.boundaries`, public domain, US Census Bureau); the metro outline is the
union of its ZIP polygons. Dallas has no ZCTA file: its counties' bounding boxes stand in.
No lead is read, so the answer is the same for every caller.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from typing import Any

import shapely

from aiqleads.geo.boundaries import BoundariesUnavailableError, load_zip_regions
from aiqleads.geo.geojson import GeoJSON, feature, feature_collection, geometry_to_geojson
from aiqleads.metros import get_metro

# Simplification tolerance in degrees (about 50 m north-south): far below what a city-wide map
# shows, and it shrinks the answer several times.
SIMPLIFY_DEGREES = 0.0005
DECIMALS = 5  # about 1 m: more digits only add bytes


def _rounded(value: Any) -> Any:
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return round(value, DECIMALS) if isinstance(value, float) else value


def _geometry(geom: shapely.Geometry) -> GeoJSON:
    simple = shapely.simplify(geom, SIMPLIFY_DEGREES, preserve_topology=True)
    out = geometry_to_geojson(simple)
    out["coordinates"] = _rounded(out["coordinates"])
    return out


@cache
def outlines(slug: str) -> bytes:
    """The metro's outlines as GeoJSON bytes: features with `kind` `zip` (property `zip`),
    `metro` (the union of the ZIPs) or `county` (name and FIPS; Dallas only, as bounding
    boxes); members `metro`, `name`, `centre` ([lon, lat]) and `bbox` ([min_lon, min_lat,
    max_lon, max_lat]). Cached per process. Raises UnknownMetroError for an unknown slug."""
    metro = get_metro(slug)
    features: list[GeoJSON] = []
    try:
        regions = load_zip_regions(slug)
    except BoundariesUnavailableError:
        for county in metro.counties:
            box = shapely.box(*county.bounds)
            props = {"kind": "county", "name": county.name, "fips": county.fips}
            features.append(feature(_geometry(box), props))
    else:
        for code, geom in zip(regions.zips, regions.geometries, strict=True):
            features.append(feature(_geometry(geom), {"kind": "zip", "zip": code}))
        area = shapely.union_all(list(regions.geometries))
        features.append(feature(_geometry(area), {"kind": "metro", "name": metro.name}))
    body = feature_collection(
        features,
        metro=metro.slug,
        name=metro.name,
        centre=[metro.centre[1], metro.centre[0]],
        bbox=list(metro.bbox),
    )
    return json.dumps(body, separators=(",", ":")).encode()


@cache
def outlines_gzip(slug: str) -> bytes:
    """`outlines(slug)` gzipped once per process (Seattle: about 0.8 MB, 0.19 MB gzipped)."""
    return gzip.compress(outlines(slug), compresslevel=6)
