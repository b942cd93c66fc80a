"""The per-lead ZIP regions penetration used before the stored ZCTA (migration 0040), kept as
the tests' oracle: the leads with one of the metro's ZIPs grouped by ZIP, every other lead's
point placed by point-in-polygon. Its two queries left the application with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import BigInteger, case, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.geo.boundaries import ZipRegions, assign_points
from aiqleads.geo.penetration import RegionPenetration, penetration_from_counts
from aiqleads.geo.repository.binary_copy import copy_numeric
from aiqleads.geo.repository.common import (
    FloatArray,
    IntArray,
    dialect,
    floats,
    ints,
    is_postgis,
    leads,
)
from aiqleads.geo.repository.penetration import (
    StatusGroups,
    _groups,
    _market_status,
    _mine_flag,
    _with_purchases,
)
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.visibility import Viewer, location, market_leads
from aiqleads.models.enums import LeadStatus

STATUS_CODES: tuple[str, ...] = (*(s.value for s in LeadStatus), "closed")  # code -> status


async def status_groups_by_zip(
    session: AsyncSession,
    viewer: Viewer,
    f: LeadFilter,
    statuses: Sequence[LeadStatus],
    *,
    zips: Sequence[str],
) -> StatusGroups:
    """Groups of the leads whose ZIP (a preview field) is one of `zips`."""
    conds = market_leads(viewer, f, statuses, dialect=dialect(session))
    in_zips = leads.c.zip_code.in_(sorted(set(zips)))
    return await _groups(session, leads.c.zip_code, [*conds, in_zips], viewer)


@dataclass(frozen=True, slots=True)
class StatusPoints:
    lat: FloatArray
    lon: FloatArray
    status_code: IntArray  # index into STATUS_CODES
    mine: NDArray[np.bool_]


async def status_points_without_zip(
    session: AsyncSession,
    viewer: Viewer,
    f: LeadFilter,
    statuses: Sequence[LeadStatus],
    *,
    zips: Sequence[str],
) -> StatusPoints:
    """The leads whose ZIP is unknown or none of `zips`, at the viewer's location, to be placed
    in a ZIP region by point-in-polygon."""
    loc = location(viewer)
    # Statuses travel as small integers: fixed width for COPY, and no string per lead.
    status = _market_status()
    code = case(*((status == name, i) for i, name in enumerate(STATUS_CODES)), else_=-1)
    outside = or_(leads.c.zip_code.is_(None), leads.c.zip_code.not_in(sorted(set(zips))))
    conds = market_leads(viewer, f, statuses, dialect=dialect(session))
    stmt = _with_purchases(
        select(
            loc.lat,
            loc.lon,
            cast(code, BigInteger),
            cast(_mine_flag(viewer.account_id), BigInteger),
        ).where(*conds, outside)
    )
    if is_postgis(session):
        fields = [("lat", "f8"), ("lon", "f8"), ("code", "i8"), ("mine", "i8")]
        c = await copy_numeric(session, stmt, fields)
        return StatusPoints(c["lat"], c["lon"], c["code"], c["mine"].astype(bool))
    rows = (await session.execute(stmt)).all()
    return StatusPoints(floats(rows, 0), floats(rows, 1), ints(rows, 2), ints(rows, 3).astype(bool))


def per_lead_penetration(
    regions: ZipRegions, by_zip: StatusGroups, pts: StatusPoints
) -> list[RegionPenetration]:
    """`penetration_from_counts` of `status_groups_by_zip`'s groups and of
    `status_points_without_zip`'s points, each placed in its region."""
    zip_keys = np.array([regions.index_of(str(z)) for z in by_zip.keys], dtype=np.int64)
    idx = assign_points(regions, pts.lat, pts.lon)
    combo = np.column_stack((idx, pts.status_code, pts.mine.astype(np.int64)))
    p_keys: Any = np.empty(0, np.int64)
    p_names: list[str] = []
    p_mine: Any = np.empty(0, bool)
    p_counts: Any = np.empty(0, np.int64)
    if combo.size:
        uniq, p_counts = np.unique(combo, axis=0, return_counts=True)
        p_keys, p_mine = uniq[:, 0], uniq[:, 2].astype(bool)
        p_names = [STATUS_CODES[i] for i in uniq[:, 1].tolist()]
    return penetration_from_counts(
        np.concatenate([zip_keys, p_keys]),
        [*by_zip.statuses, *p_names],
        np.concatenate([by_zip.mine, p_mine]),
        np.concatenate([by_zip.count, p_counts]),
    )
