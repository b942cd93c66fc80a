"""Map analytics endpoints. Each parses its parameters, calls one service and returns the
service's pre-encoded GeoJSON bytes as they are (a cache hit never re-encodes)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from aiqleads.deps import CurrentViewer, DbSession, app_state, reads_only
from aiqleads.errors import InvalidInput
from aiqleads.geo import outlines as basemap
from aiqleads.geo import service
from aiqleads.geo.schemas import (
    MAX_CLUSTER_BBOX_DEGREES,
    ClusterParams,
    CompetitorParams,
    HeatmapParams,
    PenetrationParams,
)
from aiqleads.kit.query_model import from_query
from aiqleads.metros import UnknownMetroError
from aiqleads.routing import SessionRoute

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/geo", tags=["geo"])
GEOJSON = "application/geo+json"


# The map layers read the app's state from the request rather than depending on `State`:
# FastAPI solves each dependency on every request (`deps.app_state`).
def _ctx(request: Request) -> service.GeoContext:
    state = app_state(request)
    return service.GeoContext(
        settings=state.settings,
        cache=state.cache,
        now=state.clock.now(),
        keys=state.rows_by_key,
        memo=state.key_memo,
    )


@router.get("/heatmap", response_class=Response)
@reads_only
async def heatmap(
    viewer: CurrentViewer,
    session: DbSession,
    request: Request,
    # Last: read once the caller is signed in and counted, as FastAPI's query models are.
    q: Annotated[HeatmapParams, from_query(HeatmapParams)],
) -> Response:
    """Leads per H3 cell (`resolution` 5–10, agents up to 8; or derived from `zoom`), weighted by
    `weight`, or per square cell of `cell_size_m`. Members: `legend` (min, max, total, breaks),
    `total_leads`, `withheld_cells` (score means over too few leads), `location_basis`."""
    body = await service.heatmap(
        session,
        viewer,
        filt=q.to_filter(),
        resolution=q.resolution,
        zoom=q.zoom,
        weight=q.weight,
        grid=q.grid,
        cell_size_m=q.cell_size_m,
        ctx=_ctx(request),
    )
    return Response(body, media_type=GEOJSON)


@router.get("/clusters", response_class=Response)
@reads_only
async def clusters(
    viewer: CurrentViewer,
    session: DbSession,
    request: Request,
    # Last: read once the caller is signed in and counted, as FastAPI's query models are.
    q: Annotated[ClusterParams, from_query(ClusterParams)],
) -> Response:
    """DBSCAN clusters (`eps_m` metres, `min_samples`): hull, centroid, size, area, density,
    median asking price per cluster; `noise_count`, `n_clusters`, a size `legend`, and
    `effective_eps_m` (agents cluster preview cells: at least the cell spacing)."""
    body = await service.clusters(
        session,
        viewer,
        filt=q.to_filter(max_bbox_degrees=MAX_CLUSTER_BBOX_DEGREES),
        eps_m=q.eps_m,
        min_samples=q.min_samples,
        algorithm=q.algorithm,
        ctx=_ctx(request),
    )
    return Response(body, media_type=GEOJSON)


@router.get("/penetration", response_class=Response)
@reads_only
async def penetration(
    viewer: CurrentViewer,
    session: DbSession,
    request: Request,
    # Last: read once the caller is signed in and counted, as FastAPI's query models are.
    q: Annotated[PenetrationParams, from_query(PenetrationParams)],
) -> Response:
    """Per ZIP (Census ZCTA) or H3 cell: offered, available now, sold, bought by me, my and the
    marketplace's penetration, and the quantile `class` of `metric` with its `legend`;
    `withheld_regions` / `withheld_leads` for regions too small to show an agent."""
    body = await service.penetration(
        session,
        viewer,
        filt=q.to_filter(),
        level=q.level,
        resolution=q.resolution,
        metric=q.metric,
        ctx=_ctx(request),
    )
    return Response(body, media_type=GEOJSON)


@router.get("/competitors", response_class=Response)
@reads_only
async def competitors(
    viewer: CurrentViewer,
    session: DbSession,
    request: Request,
    # Last: read once the caller is signed in and counted, as FastAPI's query models are.
    q: Annotated[CompetitorParams, from_query(CompetitorParams)],
) -> Response:
    """Around my purchased leads (or `lat`/`lon`): competitors within `radius_m`, the nearest
    one (agents: `nearest_band`), `top_offices`; per H3 cell (res 8) the competition intensity.
    Counts and offices under the disclosure group size are withheld for agents."""
    body = await service.competitors(
        session,
        viewer,
        filt=q.to_filter(),
        radius_m=q.radius_m,
        point=q.point(),
        top_n=q.top_n,
        ctx=_ctx(request),
    )
    return Response(body, media_type=GEOJSON)


@router.get("/outlines", response_class=Response)
async def outlines(
    metro: Annotated[str, Query(max_length=40, description="metro slug")], request: Request
) -> Response:
    """The offline basemap of a metro: its ZIP (Census ZCTA) outlines and its outer outline
    (Dallas: its counties' bounding boxes). Public Census data, no lead in it: the same for
    everyone, so no sign-in is needed and browsers may cache it for a day."""
    gzipped = "gzip" in request.headers.get("accept-encoding", "")
    build = basemap.outlines_gzip if gzipped else basemap.outlines
    try:
        body = await asyncio.to_thread(build, metro)  # the first call per metro takes a second
    except UnknownMetroError as exc:
        raise InvalidInput("metro", str(exc)) from None
    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=GEOJSON, headers=headers)
