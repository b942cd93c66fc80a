"""The per-lead ZIP regions penetration used before the stored ZCTA (migration 0040), kept as
the tests' oracle: the leads with one of the metro's ZIPs grouped by ZIP, every other lead's
point placed by point-in-polygon."""

from __future__ import annotations

from typing import Any

import numpy as np

from aiqleads.geo.boundaries import ZipRegions, assign_points
from aiqleads.geo.penetration import RegionPenetration, penetration_from_counts
from aiqleads.geo.repository.penetration import STATUS_CODES, StatusGroups, StatusPoints


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
