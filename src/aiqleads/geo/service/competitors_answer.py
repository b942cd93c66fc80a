"""The competitors answer: around the caller's purchased leads (or one point), competitors
within a radius, the nearest one and the top offices; per H3 cell the competition intensity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import h3
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.geo.competitors import CellCompetition, competition_by_cell, competitors_near
from aiqleads.geo.disclosure import distance_band, regional_offices, regions_within
from aiqleads.geo.geojson import GeoJSON, feature, feature_collection
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
from aiqleads.geo.repository.tallies import (
    tallied_competitor_points,
    tallied_offices,
)
from aiqleads.geo.service.common import (
    GeoContext,
    basis,
    cached_answer,
    checked_statuses,
    encode,
)
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.status import OFFERED
from aiqleads.leads.visibility import Viewer

CELL_RESOLUTION = 8  # competition intensity per stored res-8 cell (about 0.7 km²)
# PostGIS answers a few radius queries from its GiST index about as fast as, and at scale
# faster than, loading every competitor point; for many query points one k-d tree over the
# loaded points wins by far (bench/geo.py, PostgreSQL, 1M leads: one point 0.99 s vs 1.27 s;
# 200 points 8.4 s vs 1.5 s).
POSTGIS_MAX_QUERY_POINTS = 20


_Ints = np.ndarray[Any, np.dtype[np.int64]]


@dataclass(frozen=True, slots=True)
class _Queries:
    ids: list[str | None]
    lat: np.ndarray[Any, np.dtype[np.float64]]
    lon: np.ndarray[Any, np.dtype[np.float64]]
    cells: np.ndarray[Any, np.dtype[np.int64]]


async def _query_points(
    session: AsyncSession, viewer: Viewer, filt: LeadFilter, point: tuple[float, float] | None
) -> _Queries:
    if point is not None:
        lat, lon = np.array([point[0]]), np.array([point[1]])
        return _Queries([None], lat, lon, cells_for_points(lat, lon, CELL_RESOLUTION))
    mine = await my_purchased_leads(session, viewer, filt)
    ids: list[str | None] = list(mine.public_ids)
    return _Queries(ids, mine.lat, mine.lon, mine.cells)


async def competitor_counts(
    session: AsyncSession,
    viewer: Viewer,
    filt: LeadFilter,
    *,
    lat: np.ndarray[Any, np.dtype[np.float64]],
    lon: np.ndarray[Any, np.dtype[np.float64]],
    radius_m: float,
    top_n: int,
    use_postgis: bool,
) -> tuple[RadiusAnswer, _Ints, _Ints]:
    """Per query point: competitors within the radius, nearest distance, top offices; and the
    res-8 cells of the competitors with how many stand in each entry. PostGIS answers with its
    GiST index; otherwise the points are loaded (for agents grouped by preview place, from the
    tallies, under the area alone) and searched with a k-d tree (exact haversine either way).
    Top offices are empty for agents: theirs are tallied over whole regions
    (`_agent_offices`)."""
    # An agent's competitors are every competitor of the area, whatever the lead filters: a
    # filter narrowed to one lead's asking price would otherwise tell whether that lead is a
    # competitor (names a listing agent or office, or another buyer bought it), which its
    # preview does not say. The filters choose the caller's own leads only.
    of = filt if viewer.exact else LeadFilter(area=filt.area)
    if use_postgis:
        answer = await postgis_competitors(
            session, viewer, of, lat=lat, lon=lon, radius_m=radius_m, top_n=top_n
        )
        cells, counts = await competitor_cells(session, viewer, of, radius_m=radius_m)
        return answer, cells, counts
    if viewer.exact:
        comps = await competitor_points(session, viewer, of, radius_m=radius_m)
    else:  # precomputed: no scan of the area
        comps = await tallied_competitor_points(session, viewer, of, radius_m=radius_m)
    # Agents' offices are tallied over whole regions (`_agent_offices`), not per circle.
    offices = comps.offices if viewer.exact else None
    near = await anyio.to_thread.run_sync(
        lambda: competitors_near(
            lat,
            lon,
            comps.lat,
            comps.lon,
            radius_m,
            offices=offices,
            top_n=top_n,
            weights=comps.count,
        )
    )
    answer = RadiusAnswer(near.count, near.nearest_m, near.top_offices)
    known = comps.cells >= 0
    return answer, comps.cells[known], comps.count[known]


def _offices(top: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"office": o, "count": n} for o, n in top]


async def _agent_offices(
    session: AsyncSession,
    viewer: Viewer,
    q: _Queries,
    *,
    radius_m: float,
    top_n: int,
    min_group: int,
) -> list[tuple[str, int]]:
    """An agent's top offices: tallied over the whole resolution-7 regions the search circles
    reach, whatever the filters, an office counting only where it has `min_group` listings.
    The counts come from the office tallies (`tallied_offices`, the same counts as
    `office_tallies`' scan of the regions' leads, without the scan)."""
    regions: set[int] = set()
    for lat, lon in zip(q.lat.tolist(), q.lon.tolist(), strict=True):
        regions |= regions_within(lat, lon, radius_m)
    tallies = await tallied_offices(session, viewer, sorted(regions))
    return regional_offices(tallies, min_group=min_group, top_n=top_n)


def _count(n: int, min_group: int) -> int | None:
    """A competitor count, or None when fewer than `min_group` (which competitors those are
    is not derivable from the previews, so small counts are withheld)."""
    return int(n) if n >= min_group else None


def _features(
    q: _Queries, answer: RadiusAnswer, cells: CellCompetition, *, exact: bool, min_group: int
) -> list[GeoJSON]:
    feats = []
    for lead_id, la, lo, n, d in zip(
        q.ids, q.lat, q.lon, answer.count, answer.nearest_m, strict=True
    ):
        props: dict[str, Any] = {
            "layer": "lead",
            "lead_id": lead_id,
            "competitors": _count(int(n), min_group),
        }
        if exact:
            props["nearest_m"] = None if not np.isfinite(d) else float(d)
        else:
            # Where fewer competitors than the group size stand within the radius, even the
            # band would tell that one is near (and, with the circle moved, which cell).
            near = float(d) if n >= min_group else float("inf")
            props["nearest_band"] = distance_band(near)
        feats.append(feature({"type": "Point", "coordinates": [float(lo), float(la)]}, props))
    for i, cell in enumerate(cells.cells.tolist()):
        n = int(cells.competitors[i])
        shown = n >= min_group
        if not shown and int(cells.leads[i]) == 0:
            # A cell with none of the caller's leads is drawn only for what it says: a count
            # withheld there would still tell, by the cell's presence, that it has a competitor.
            continue
        per_lead = float(cells.per_lead[i])
        feats.append(
            feature(
                cell_polygon(cell),
                {
                    "layer": "cell",
                    "cell": h3.int_to_str(cell),
                    "competitors": n if shown else None,
                    "my_leads": int(cells.leads[i]),
                    "per_km2": float(cells.per_km2[i]) if shown else None,
                    "per_lead": per_lead if shown and np.isfinite(per_lead) else None,
                },
            )
        )
    return feats


async def competitors(
    session: AsyncSession,
    viewer: Viewer,
    *,
    filt: LeadFilter,
    radius_m: float,
    point: tuple[float, float] | None,
    top_n: int,
    ctx: GeoContext,
    use_postgis: bool | None = None,
) -> bytes:
    """Competition around the caller's purchased leads (or one point) as encoded GeoJSON (see
    the route for the members). For agents competitors are those of the whole area whatever
    the lead filters (which choose the caller's own leads only) and stand at their preview
    cells; nearest distances come in bands; counts under `min_group` are withheld, with the
    band beside them and any cell of the layer that holds none of the caller's leads; offices
    are tallied over whole resolution-7 regions whatever the filters (`geo.disclosure`)."""
    checked_statuses(viewer, filt, OFFERED)
    params = {"radius_m": radius_m, "point": list(point) if point else None, "top_n": top_n}
    min_group = 1 if viewer.exact else ctx.min_group

    async def compute() -> bytes:
        q = await _query_points(session, viewer, filt, point)
        postgis = use_postgis
        if postgis is None:
            small = q.lat.size <= POSTGIS_MAX_QUERY_POINTS
            # Agents' competitors come grouped by preview place, which beats PostGIS's
            # per-lead index even for one point (bench/geo.py, PostgreSQL, 200k leads, one
            # point: 0.65 s vs 1.9 s).
            postgis = small and is_postgis(session) and viewer.exact
        answer, comp_cells, comp_weights = await competitor_counts(
            session,
            viewer,
            filt,
            lat=q.lat,
            lon=q.lon,
            radius_m=radius_m,
            top_n=top_n,
            use_postgis=postgis,
        )
        top = answer.top_offices
        if not viewer.exact:
            top = await _agent_offices(
                session, viewer, q, radius_m=radius_m, top_n=top_n, min_group=min_group
            )

        def build() -> bytes:
            cells = competition_by_cell(comp_cells, q.cells[q.cells >= 0], comp_weights)
            feats = _features(q, answer, cells, exact=viewer.exact, min_group=min_group)
            shown_counts = [c for c in answer.count.tolist() if c >= min_group]
            shown_density = cells.per_km2[cells.competitors >= min_group]
            doc = feature_collection(
                feats,
                radius_m=radius_m,
                cell_resolution=CELL_RESOLUTION,
                top_offices=_offices(top),
                legend=legend(shown_counts),
                cell_legend=legend(shown_density),
                **basis(viewer),
            )
            return encode(doc)

        return await anyio.to_thread.run_sync(build)

    return await cached_answer(
        session,
        ctx,
        endpoint="competitors",
        filt=filt,
        viewer=viewer,
        personal=True,
        params=params,
        compute=compute,
    )
