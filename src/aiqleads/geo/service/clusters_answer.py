"""The clusters answer: DBSCAN over the visible points (our grid DBSCAN or PostGIS's
ST_ClusterDBSCAN, same partition), summarised per cluster."""

from __future__ import annotations

from typing import Any, Literal

import anyio.to_thread
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth.principal import Principal
from aiqleads.errors import InvalidInput
from aiqleads.geo.clusters import summarize_clusters
from aiqleads.geo.dbscan import dbscan
from aiqleads.geo.filters import ON_MARKET, LeadFilter, Visibility
from aiqleads.geo.legend import legend
from aiqleads.geo.repository.clusters import postgis_dbscan
from aiqleads.geo.repository.common import is_postgis
from aiqleads.geo.repository.points import LeadPoints, points
from aiqleads.geo.service.common import (
    GeoContext,
    cached_answer,
    checked_statuses,
    encode,
    visibility,
)
from aiqleads.models.enums import LeadStatus


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
) -> tuple[LeadPoints, np.ndarray[Any, np.dtype[np.int64]]]:
    """The visible points and their DBSCAN labels, by either path (same partition)."""
    if algorithm == "postgis":
        if not is_postgis(session):
            raise InvalidInput("algorithm", "postgis needs the PostgreSQL database; use grid")
        pts, labels = await postgis_dbscan(session, filt, vis, eps_m=eps_m, min_samples=min_samples)
        return pts, renumber(labels)
    pts = await points(session, filt, vis)
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
    filt = checked_statuses(principal, filt, ON_MARKET)
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

    return await cached_answer(
        session, ctx, endpoint="clusters", filt=filt, vis=vis, params=params, compute=compute
    )
