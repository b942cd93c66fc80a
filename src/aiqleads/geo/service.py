"""Geo analytics for one caller: who sees what, the cache, and the work behind each answer.

Each public function returns the answer as encoded JSON bytes (a GeoJSON FeatureCollection),
because that is what the cache stores: a warm answer is one cache read, no re-encoding.
CPU-heavy steps (DBSCAN, hulls, polygons, point-in-polygon) run in a worker thread so the event
loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import anyio.to_thread
import h3
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth.principal import Principal
from aiqleads.config import Settings
from aiqleads.errors import InvalidInput
from aiqleads.geo import repository
from aiqleads.geo.boundaries import BoundariesUnavailableError, assign_points, load_zip_regions
from aiqleads.geo.cache import build_key, get_or_compute
from aiqleads.geo.clusters import summarize_clusters
from aiqleads.geo.competitors import competition_by_cell, competitors_near
from aiqleads.geo.dbscan import dbscan
from aiqleads.geo.filters import AGENT_STATUSES, OFFERED, ON_MARKET, LeadFilter, Visibility
from aiqleads.geo.geojson import GeoJSON, feature, feature_collection
from aiqleads.geo.heatmap import (
    CellAggregate,
    Value,
    cell_polygon,
    cells_for_points,
    h3_heatmap_json,
    parent_cells,
    square_grid,
    zoom_to_resolution,
)
from aiqleads.geo.legend import legend
from aiqleads.geo.penetration import penetration_from_counts, penetration_geojson
from aiqleads.geo.projection import LocalProjection
from aiqleads.kit.cache import ByteCache
from aiqleads.leads.service import visible_before
from aiqleads.models.enums import LeadStatus

DEFAULT_RESOLUTION = 8
CELL_RESOLUTION = 8  # competition intensity per stored res-8 cell (about 0.7 km²)
# PostGIS answers a few radius queries from its GiST index about as fast as, and at scale
# faster than, loading every competitor point; for many query points one k-d tree over the
# loaded points wins by far (bench/geo.py, PostgreSQL, 1M leads: one point 0.99 s vs 1.27 s;
# 200 points 8.4 s vs 1.5 s).
POSTGIS_MAX_QUERY_POINTS = 20
_WEIGHT_VALUE: dict[str, Value] = {
    "count": "count",
    "asking_price_sum": "sum",
    "score_mean": "mean",
}


@dataclass(frozen=True, slots=True)
class GeoContext:
    """What every geo call needs besides the session and the caller."""

    settings: Settings
    cache: ByteCache
    now: datetime


def encode(doc: GeoJSON) -> bytes:
    # allow_nan=False: a NaN reaching the encoder is a bug, not something to send to a browser.
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def visibility(
    principal: Principal, settings: Settings, now: datetime, *, personal: bool
) -> Visibility:
    """`personal`: the answer depends on the caller's own purchases, so it is cached per account."""
    if principal.is_admin:
        return Visibility(None, None, "admin")
    cutoff = visible_before(principal, settings, now)
    cls = f"account:{principal.account_id}" if personal else f"tier:{principal.tier.value}"
    return Visibility(principal.account_id, cutoff, cls)


def _statuses(
    principal: Principal, filt: LeadFilter, default: tuple[LeadStatus, ...]
) -> LeadFilter:
    statuses = filt.statuses or default
    if not principal.is_admin:
        refused = sorted(s.value for s in statuses if s not in AGENT_STATUSES)
        if refused:
            raise InvalidInput(
                "status", f"agents may ask for available, held or sold; not {refused}"
            )
    return replace(filt, statuses=statuses)


async def _answer(
    session: AsyncSession,
    ctx: GeoContext,
    *,
    endpoint: str,
    filt: LeadFilter,
    vis: Visibility,
    params: dict[str, Any],
    compute: Callable[[], Any],
) -> bytes:
    key = await build_key(
        session,
        namespace=ctx.settings.cache_namespace,
        endpoint=endpoint,
        filt=filt,
        vis=vis,
        params=params,
    )
    return await get_or_compute(
        ctx.cache,
        key,
        endpoint=endpoint,
        ttl_seconds=ctx.settings.geo_cache_ttl_seconds,
        compute=compute,
    )


# --- heatmap ------------------------------------------------------------------------------------


def _regroup(groups: repository.CellGroups, res: int) -> repository.CellGroups:
    """Merge stored res-7 groups into their parents at a coarser resolution."""
    parents = parent_cells(groups.cells, res)
    cells, inverse = np.unique(parents, return_inverse=True)

    def add(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.bincount(inverse, weights=values, minlength=cells.size)

    return repository.CellGroups(
        cells=cells,
        count=add(groups.count).astype(np.int64),
        price_sum=add(groups.price_sum),
        price_n=add(groups.price_n).astype(np.int64),
        score_sum=add(groups.score_sum),
        score_n=add(groups.score_n).astype(np.int64),
    )


def _group_points(pts: repository.LeadPoints, res: int) -> repository.CellGroups:
    """Resolution 10 is not stored: index the points, then group like the database would."""
    cells, inverse = np.unique(cells_for_points(pts.lat, pts.lon, res), return_inverse=True)

    def add(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.bincount(inverse, weights=values, minlength=cells.size)

    price_known, score_known = np.isfinite(pts.price), np.isfinite(pts.score)
    return repository.CellGroups(
        cells=cells,
        count=add(np.ones(pts.lat.size)).astype(np.int64),
        price_sum=add(np.where(price_known, pts.price, 0.0)),
        price_n=add(price_known.astype(np.float64)).astype(np.int64),
        score_sum=add(np.where(score_known, pts.score, 0.0)),
        score_n=add(score_known.astype(np.float64)).astype(np.int64),
    )


def _aggregate(groups: repository.CellGroups, weight: str) -> CellAggregate:
    if weight == "count":
        return CellAggregate(groups.cells, groups.count, None, None)
    total, known = (
        (groups.price_sum, groups.price_n)
        if weight == "asking_price_sum"
        else (groups.score_sum, groups.score_n)
    )
    mean = np.divide(total, known, out=np.full(total.size, np.nan), where=known > 0)
    return CellAggregate(groups.cells, groups.count, total.astype(np.float64), mean)


async def heatmap(
    session: AsyncSession,
    principal: Principal,
    *,
    filt: LeadFilter,
    resolution: int | None,
    zoom: float | None,
    weight: str,
    grid: Literal["h3", "square"],
    cell_size_m: float,
    ctx: GeoContext,
) -> bytes:
    filt = _statuses(principal, filt, ON_MARKET)
    vis = visibility(principal, ctx.settings, ctx.now, personal=LeadStatus.SOLD in filt.statuses)
    lat0, lon0 = filt.area.centre
    if grid == "square":
        if weight != "count":
            raise InvalidInput("weight", "the square grid counts leads; use grid=h3 for weights")
        params: dict[str, Any] = {"grid": "square", "cell_size_m": cell_size_m}
    else:
        res = resolution
        if res is None:
            res = DEFAULT_RESOLUTION if zoom is None else zoom_to_resolution(zoom, latitude=lat0)
        params = {"grid": "h3", "resolution": res, "weight": weight}

    async def compute() -> bytes:
        if grid == "square":
            pts = await repository.points(session, filt, vis)
            proj = LocalProjection.around(lat0, lon0)  # fixed per area: cells do not shift
            doc = await anyio.to_thread.run_sync(
                lambda: square_grid(pts.lat, pts.lon, cell_size_m, projection=proj)
            )
            doc["total_leads"] = int(pts.lat.size)
            return encode(doc)
        res = int(params["resolution"])
        weighted = weight != "count"
        if res in repository.H3_COLUMNS:
            groups = await repository.cell_groups(session, filt, vis, res, weighted=weighted)
        elif res < min(repository.H3_COLUMNS):
            stored = await repository.cell_groups(session, filt, vis, 7, weighted=weighted)
            groups = _regroup(stored, res)
        else:
            groups = _group_points(await repository.points(session, filt, vis), res)

        def build() -> bytes:
            agg, total = _aggregate(groups, weight), int(groups.count.sum())
            value = _WEIGHT_VALUE[weight]
            return h3_heatmap_json(agg, value, resolution=res, weight=weight, total_leads=total)

        return await anyio.to_thread.run_sync(build)

    return await _answer(
        session, ctx, endpoint="heatmap", filt=filt, vis=vis, params=params, compute=compute
    )


# --- clusters -----------------------------------------------------------------------------------


def renumber(labels: np.ndarray[Any, np.dtype[np.int64]]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Clusters 0, 1, … in order of their first point; noise stays -1 (makes labels comparable
    between algorithms that number clusters differently)."""
    out = np.full(labels.size, -1, dtype=np.int64)
    member = labels >= 0
    if not member.any():
        return out
    uniq, first = np.unique(labels[member], return_index=True)
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(uniq.size)
    out[member] = rank[np.searchsorted(uniq, labels[member])]
    return out


async def cluster_labels(
    session: AsyncSession,
    filt: LeadFilter,
    vis: Visibility,
    *,
    eps_m: float,
    min_samples: int,
    algorithm: Literal["grid", "postgis"],
) -> tuple[repository.LeadPoints, np.ndarray[Any, np.dtype[np.int64]]]:
    """The visible points and their DBSCAN labels, by either path (same partition)."""
    if algorithm == "postgis":
        if not repository.is_postgis(session):
            raise InvalidInput("algorithm", "postgis needs the PostgreSQL database; use grid")
        pts, labels = await repository.postgis_dbscan(
            session, filt, vis, eps_m=eps_m, min_samples=min_samples
        )
        return pts, renumber(labels)
    pts = await repository.points(session, filt, vis)
    result = await anyio.to_thread.run_sync(lambda: dbscan(pts.lat, pts.lon, eps_m, min_samples))
    return pts, result.labels


async def clusters(
    session: AsyncSession,
    principal: Principal,
    *,
    filt: LeadFilter,
    eps_m: float,
    min_samples: int,
    algorithm: Literal["grid", "postgis"],
    ctx: GeoContext,
) -> bytes:
    filt = _statuses(principal, filt, ON_MARKET)
    vis = visibility(principal, ctx.settings, ctx.now, personal=LeadStatus.SOLD in filt.statuses)
    params = {"eps_m": eps_m, "min_samples": min_samples, "algorithm": algorithm}

    async def compute() -> bytes:
        pts, labels = await cluster_labels(
            session, filt, vis, eps_m=eps_m, min_samples=min_samples, algorithm=algorithm
        )

        def build() -> bytes:
            summary = summarize_clusters(pts.lat, pts.lon, labels, pts.price)
            doc = summary.to_geojson()
            sizes = [c.size for c in summary.clusters]
            doc.update(
                params,
                n_points=int(pts.lat.size),
                n_clusters=len(sizes),
                legend=legend(sizes),
            )
            return encode(doc)

        return await anyio.to_thread.run_sync(build)

    return await _answer(
        session, ctx, endpoint="clusters", filt=filt, vis=vis, params=params, compute=compute
    )


# --- penetration --------------------------------------------------------------------------------


def _key(region: Hashable) -> int:
    assert isinstance(region, int)  # penetration_from_counts keys regions by int
    return region


def _zip_regions(filt: LeadFilter) -> Any:
    metro = filt.area.home_metro
    if metro is None:
        raise InvalidInput("bbox", "lies in no metro, so there are no ZIP regions; use level=h3")
    try:
        return load_zip_regions(metro.slug)
    except BoundariesUnavailableError:
        raise InvalidInput(
            "level", f"no ZIP (ZCTA) polygons are available for {metro.slug}; use level=h3"
        ) from None


def _group_zip(
    zip_index: np.ndarray[Any, Any], status_code: np.ndarray[Any, Any], mine: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], list[str], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(zip, status, mine) groups with counts, like the GROUP BY of the h3 level."""
    combo = np.column_stack((zip_index, status_code, mine.astype(np.int64)))
    if combo.size == 0:
        return np.empty(0, np.int64), [], np.empty(0, bool), np.empty(0, np.int64)
    uniq, counts = np.unique(combo, axis=0, return_counts=True)
    names = [repository.STATUS_CODES[i] for i in uniq[:, 1].tolist()]
    return uniq[:, 0], names, uniq[:, 2].astype(bool), counts


async def penetration(
    session: AsyncSession,
    principal: Principal,
    *,
    filt: LeadFilter,
    level: Literal["zip", "h3"],
    resolution: int,
    metric: Literal["market", "agent"],
    ctx: GeoContext,
) -> bytes:
    filt = _statuses(principal, filt, OFFERED)
    # Sales by every buyer count (that is the marketplace's penetration), but an agent still
    # sees nothing inside its tier window; "bought by me" makes the answer per account.
    vis = visibility(principal, ctx.settings, ctx.now, personal=True)
    regions = _zip_regions(filt) if level == "zip" else None
    params = {"level": level, "resolution": resolution if level == "h3" else None, "metric": metric}
    me = principal.account_id

    async def compute() -> bytes:
        if regions is None:
            g = await repository.status_groups_by_cell(
                session, filt, vis, res=resolution, account_id=me
            )

            def build_h3() -> bytes:
                rows = [
                    replace(r, region=h3.int_to_str(_key(r.region)))
                    for r in penetration_from_counts(g.keys, g.statuses, g.mine, g.count)
                ]
                doc = penetration_geojson(
                    rows, lambda cell: cell_polygon(h3.str_to_int(str(cell))), metric=metric
                )
                return encode({**doc, **params})

            return await anyio.to_thread.run_sync(build_h3)
        pts = await repository.status_points(session, filt, vis, account_id=me)

        def build_zip() -> bytes:
            idx = assign_points(regions, pts.lat, pts.lon)
            keys, statuses, mine, counts = _group_zip(idx, pts.status_code, pts.mine)
            rows = [
                replace(r, region=regions.zips[_key(r.region)])
                for r in penetration_from_counts(keys, statuses, mine, counts)
            ]
            doc = penetration_geojson(rows, lambda z: regions.geojson(str(z)), metric=metric)
            return encode({**doc, **params, "metro": regions.metro})

        return await anyio.to_thread.run_sync(build_zip)

    return await _answer(
        session, ctx, endpoint="penetration", filt=filt, vis=vis, params=params, compute=compute
    )


# --- competitors --------------------------------------------------------------------------------


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
    mine = await repository.my_purchased_leads(session, filt, account_id=account_id)
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
) -> tuple[repository.RadiusAnswer, np.ndarray[Any, np.dtype[np.int64]]]:
    """Per query point: competitors within the radius, nearest distance, top offices; and the
    res-8 cell of every competitor. PostGIS answers with its GiST index; otherwise the points
    are loaded and searched with a k-d tree (exact haversine either way)."""
    if use_postgis:
        answer = await repository.postgis_competitors(
            session,
            filt,
            vis,
            account_id=account_id,
            lat=lat,
            lon=lon,
            radius_m=radius_m,
            top_n=top_n,
        )
        cells = await repository.competitor_cells(
            session, filt, vis, account_id=account_id, radius_m=radius_m
        )
        return answer, cells
    comps = await repository.competitor_points(
        session, filt, vis, account_id=account_id, radius_m=radius_m
    )
    near = await anyio.to_thread.run_sync(
        lambda: competitors_near(
            lat, lon, comps.lat, comps.lon, radius_m, offices=comps.offices, top_n=top_n
        )
    )
    answer = repository.RadiusAnswer(near.count, near.nearest_m, near.top_offices)
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
    filt = _statuses(principal, filt, OFFERED)
    vis = visibility(principal, ctx.settings, ctx.now, personal=True)
    params = {"radius_m": radius_m, "point": list(point) if point else None, "top_n": top_n}
    me = principal.account_id

    async def compute() -> bytes:
        q = await _query_points(session, filt, point, me)
        postgis = use_postgis
        if postgis is None:
            small = q.lat.size <= POSTGIS_MAX_QUERY_POINTS
            postgis = small and repository.is_postgis(session)
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

    return await _answer(
        session, ctx, endpoint="competitors", filt=filt, vis=vis, params=params, compute=compute
    )
