"""Small GeoJSON helpers: plain dicts that ``json.dumps`` and FastAPI serialise directly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shapely
from shapely.geometry import mapping

GeoJSON = dict[str, Any]


def feature(
    geometry: GeoJSON | None, properties: dict[str, Any], fid: str | int | None = None
) -> GeoJSON:
    out: GeoJSON = {"type": "Feature", "geometry": geometry, "properties": properties}
    if fid is not None:
        out["id"] = fid
    return out


def feature_collection(features: Sequence[GeoJSON], **members: Any) -> GeoJSON:
    """A FeatureCollection; extra members (e.g. ``legend``) sit beside ``features``."""
    return {"type": "FeatureCollection", "features": list(features), **members}


def geometry_to_geojson(geom: shapely.Geometry) -> GeoJSON:
    """Shapely geometry (x = lon, y = lat) to a GeoJSON geometry dict with plain lists."""
    out: GeoJSON = mapping(geom)

    def _lists(value: Any) -> Any:
        if isinstance(value, tuple | list):
            return [_lists(v) for v in value]
        return value

    return {k: _lists(v) if k == "coordinates" else v for k, v in out.items()}


def ring_polygon(lon: Sequence[float], lat: Sequence[float]) -> GeoJSON:
    """A GeoJSON Polygon from one outer ring; closes the ring when needed."""
    coords = [[float(x), float(y)] for x, y in zip(lon, lat, strict=True)]
    if coords and coords[0] != coords[-1]:
        coords.append(coords[0])
    return {"type": "Polygon", "coordinates": [coords]}
