"""The competitors answer: around the caller's purchased leads (or one point), competitors
within a radius, the nearest one and the top offices; per H3 cell the competition intensity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import h3
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth.principal import Principal
from aiqleads.geo.competitors import competition_by_cell, competitors_near
from aiqleads.geo.filters import OFFERED, LeadFilter, Visibility
from aiqleads.geo.geojson import feature, feature_collection
from aiqleads.geo.heatmap import cell_polygon, cells_for_points
from aiqleads.geo.legend import legend
from aiqleads.geo.repository.common import is_postgis
from aiqleads.geo.repository.competitors import (
    RadiusAnswer,
    competitor_cells,
    competitor_points,
    my_purchased_leads,
    postgis_competitors,
)
from aiqleads.geo.service.common import (
    GeoContext,
    cached_answer,
    checked_statuses,
    encode,
    visibility,
)

CELL_RESOLUTION = 8  # competition intensity per stored res-8 cell (about 0.7 km²)
# PostGIS answers a few radius queries from its GiST index about as fast as, and at scale
# faster than, loading every competitor point; for many query points one k-d tree over the
# loaded points wins by far (bench/geo.py, PostgreSQL, 1M leads: one point 0.99 s vs 1.27 s;
# 200 points 8.4 s vs 1.5 s).
POSTGIS_MAX_QUERY_POINTS = 20


@dataclass(frozen=True, slots=True)
class _Queries:
    ids: list[str | None]
    lat: np.ndarray[Any, np.dtype[np.float64]]
    lon: np.ndarray[Any, np.dtype[np.float64]]
    cells: np.ndarray[Any, np.dtype[np.int64]]


async def _query_points(
    session: AsyncSession, filt: LeadFilter, point: tuple[float, float] | None, account_id: int
) -> _Queries:
    if point is not None:
        lat, lon = np.array([point[0]]), np.array([point[1]])
        return _Queries([None], lat, lon, cells_for_points(lat, lon, CELL_RESOLUTION))
    mine = await my_purchased_leads(session, filt, account_id=account_id)
    ids: list[str | None] = list(mine.public_ids)
    return _Queries(ids, mine.lat, mine.lon, mine.cells)


async def competitor_counts(
    session: AsyncSession,
    filt: LeadFilter,
    vis: Visibility,
    *,
    account_id: int,
    lat: np.ndarray[Any, np.dtype[np.float64]],
    lon: np.ndarray[Any, np.dtype[np.float64]],
    radius_m: float,
    top_n: int,
    use_postgis: bool,
) -> tuple[RadiusAnswer, np.ndarray[Any, np.dtype[np.int64]]]:
    """Per query point: competitors within the radius, nearest distance, top offices; and the
    res-8 cell of every competitor. PostGIS answers with its GiST index; otherwise the points
    are loaded and searched with a k-d tree (exact haversine either way)."""
    if use_postgis:
        answer = await postgis_competitors(
            session,
            filt,
            vis,
            account_id=account_id,
            lat=lat,
            lon=lon,
            radius_m=radius_m,
            top_n=top_n,
        )
        cells = await competitor_cells(session, filt, vis, account_id=account_id, radius_m=radius_m)
        return answer, cells
    comps = await competitor_points(session, filt, vis, account_id=account_id, radius_m=radius_m)
    near = await anyio.to_thread.run_sync(
        lambda: competitors_near(
            lat, lon, comps.lat, comps.lon, radius_m, offices=comps.offices, top_n=top_n
        )
    )
    answer = RadiusAnswer(near.count, near.nearest_m, near.top_offices)
    return answer, comps.cells[comps.cells >= 0]


async def competitors(
    session: AsyncSession,
    principal: Principal,
    *,
    filt: LeadFilter,
    radius_m: float,
    point: tuple[float, float] | None,
    top_n: int,
    ctx: GeoContext,
    use_postgis: bool | None = None,
) -> bytes:
    filt = checked_statuses(principal, filt, OFFERED)
    vis = visibility(principal, ctx.settings, ctx.now, personal=True)
    params = {"radius_m": radius_m, "point": list(point) if point else None, "top_n": top_n}
    me = principal.account_id

    async def compute() -> bytes:
        q = await _query_points(session, filt, point, me)
        postgis = use_postgis
        if postgis is None:
            small = q.lat.size <= POSTGIS_MAX_QUERY_POINTS
            postgis = small and is_postgis(session)
        answer, comp_cells = await competitor_counts(
            session,
            filt,
            vis,
            account_id=me,
            lat=q.lat,
            lon=q.lon,
            radius_m=radius_m,
            top_n=top_n,
            use_postgis=postgis,
        )

        def build() -> bytes:
            feats = [
                feature(
                    {"type": "Point", "coordinates": [float(lo), float(la)]},
                    {
                        "layer": "lead",
                        "lead_id": lead_id,
                        "competitors": int(n),
                        "nearest_m": None if not np.isfinite(d) else float(d),
                    },
                )
                for lead_id, la, lo, n, d in zip(
                    q.ids, q.lat, q.lon, answer.count, answer.nearest_m, strict=True
                )
            ]
            cells = competition_by_cell(comp_cells, q.cells[q.cells >= 0])
            for i, cell in enumerate(cells.cells.tolist()):
                per_lead = float(cells.per_lead[i])
                feats.append(
                    feature(
                        cell_polygon(cell),
                        {
                            "layer": "cell",
                            "cell": h3.int_to_str(cell),
                            "competitors": int(cells.competitors[i]),
                            "my_leads": int(cells.leads[i]),
                            "per_km2": float(cells.per_km2[i]),
                            "per_lead": per_lead if np.isfinite(per_lead) else None,
                        },
                    )
                )
            doc = feature_collection(
                feats,
                radius_m=radius_m,
                cell_resolution=CELL_RESOLUTION,
                top_offices=[{"office": o, "count": n} for o, n in answer.top_offices],
                legend=legend(answer.count),
                cell_legend=legend(cells.per_km2),
            )
            return encode(doc)

        return await anyio.to_thread.run_sync(build)

    return await cached_answer(
        session, ctx, endpoint="competitors", filt=filt, vis=vis, params=params, compute=compute
    )
