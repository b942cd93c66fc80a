"""The clusters' PostGIS query: ST_ClusterDBSCAN labels for the visible points."""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlalchemy import BigInteger, cast, func, literal
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.geo.repository.binary_copy import copy_numeric
from aiqleads.geo.repository.common import IntArray
from aiqleads.geo.repository.points import LeadPoints, copyable, points_stmt
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.visibility import Viewer, location
from aiqleads.models.enums import LeadStatus


def utm_srid(lat: float, lon: float) -> int:
    """EPSG code of the WGS84 UTM zone holding the point (326xx north, 327xx south)."""
    zone = min(math.floor((lon + 180.0) / 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


async def postgis_dbscan(
    session: AsyncSession,
    viewer: Viewer,
    f: LeadFilter,
    statuses: Sequence[LeadStatus],
    *,
    eps_m: float,
    min_samples: int,
) -> tuple[LeadPoints, IntArray]:
    """The visible points with exact locations and their ST_ClusterDBSCAN labels (-1 = noise),
    ordered by id.

    ST_ClusterDBSCAN measures in the units of its input's SRID. On geometry(4326) that would be
    degrees, so the points are first transformed to the UTM zone of the area's centre (metres;
    UTM's scale error within a zone is at most 0.04 %, and distances on the WGS84 ellipsoid
    differ from the sphere of the Python path by up to about 0.2 %, so a pair within half a
    metre of eps may link on one path only). Labels are PostGIS's own numbering: compare
    partitions, not label values.
    """
    lat0, lon0 = f.area.centre
    geom = func.ST_Transform(location(viewer).geom, utm_srid(lat0, lon0))
    label = func.ST_ClusterDBSCAN(geom, literal(eps_m), literal(min_samples)).over()
    stmt = copyable(
        points_stmt(
            session,
            viewer,
            f,
            statuses,
            cast(func.coalesce(label, -1), BigInteger),
            exact_only=True,
        )
    )
    fields = [("id", "i8"), ("lat", "f8"), ("lon", "f8"), ("price", "f8"), ("score", "f8")]
    c = await copy_numeric(session, stmt, [*fields, ("label", "i8")])
    return LeadPoints(c["id"], c["lat"], c["lon"], c["price"], c["score"]), c["label"]
