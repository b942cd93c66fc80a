"""The clusters answer: DBSCAN over the visible points (our grid DBSCAN or PostGIS's
ST_ClusterDBSCAN, same partition), summarised per cluster.

For agents every lead stands at its preview cell's centre, so clustering the points is DBSCAN
over cells weighted by their lead counts, and that is how it runs on the grid path (exactly the
same clusters, `geo.dbscan`; at 1M leads a few thousand cells instead of a million points); the
radius is at least the spacing of neighbouring cells (else no two cells could ever link), hulls
are the outlines of the member cells, and a cluster of fewer than `min_group` leads counts as
noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import anyio.to_thread
import h3
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.errors import InvalidInput
from aiqleads.geo.clusters import ClusterSummary, summarize_clusters
from aiqleads.geo.dbscan import dbscan
from aiqleads.geo.disclosure import cell_link_m
from aiqleads.geo.legend import legend
from aiqleads.geo.repository.clusters import postgis_dbscan
from aiqleads.geo.repository.common import is_postgis
from aiqleads.geo.repository.points import (
    LeadPoints,
    PlacedPoints,
    approximate_count,
    placed_points,
    points,
)
from aiqleads.geo.service.common import (
    GeoContext,
    basis,
    cached_answer,
    checked_statuses,
    encode,
)
from aiqleads.kit.h3cells import PREVIEW_RESOLUTION
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.status import ON_MARKET
from aiqleads.leads.visibility import Viewer
from aiqleads.models.enums import LeadStatus

IntArray = np.ndarray[Any, np.dtype[np.int64]]


def renumber(labels: IntArray) -> IntArray:
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


def drop_small(labels: IntArray, min_size: int, weights: IntArray | None = None) -> IntArray:
    """Clusters of fewer than `min_size` points become noise; the rest are renumbered.
    `weights`: how many points each point stands for (default 1 each)."""
    member = labels >= 0
    if not member.any():
        return labels
    sizes = np.bincount(labels[member], weights=None if weights is None else weights[member])
    small = np.zeros(labels.size, dtype=bool)
    small[member] = sizes[labels[member]] < min_size
    return renumber(np.where(small, -1, labels))


async def cluster_labels(
    session: AsyncSession,
    viewer: Viewer,
    filt: LeadFilter,
    statuses: Sequence[LeadStatus],
    *,
    eps_m: float,
    min_samples: int,
    algorithm: Literal["grid", "postgis"],
) -> tuple[LeadPoints, IntArray]:
    """The visible points with exact locations (at the viewer's locations) and their DBSCAN
    labels, by either path (same partition). Leads known only to their ZIP are left out: eight
    listings at one ZIP centroid are no cluster of zero area, but eight unknown places."""
    if algorithm == "postgis":
        if not is_postgis(session):
            raise InvalidInput("algorithm", "postgis needs the PostgreSQL database; use grid")
        pts, labels = await postgis_dbscan(
            session, viewer, filt, statuses, eps_m=eps_m, min_samples=min_samples
        )
        return pts, renumber(labels)
    pts = await points(session, viewer, filt, statuses, exact_only=True)
    result = await anyio.to_thread.run_sync(lambda: dbscan(pts.lat, pts.lon, eps_m, min_samples))
    return pts, result.labels


async def placed_labels(
    session: AsyncSession,
    viewer: Viewer,
    filt: LeadFilter,
    statuses: Sequence[LeadStatus],
    *,
    eps_m: float,
    min_samples: int,
) -> tuple[PlacedPoints, IntArray]:
    """For a viewer who sees preview places: the visible leads with exact locations grouped by
    place, and each place's DBSCAN label (grid path), the one each of its leads has when the
    leads are clustered one by one."""
    placed = await placed_points(session, viewer, filt, statuses)
    result = await anyio.to_thread.run_sync(
        lambda: dbscan(placed.lat, placed.lon, eps_m, min_samples, weights=placed.count)
    )
    return placed, result.labels


def _preview_cells(pts: LeadPoints) -> IntArray:
    """The cell of each point, when every point is a preview cell's centre (indexed once per
    distinct centre)."""
    if pts.lat.size == 0:
        return np.empty(0, dtype=np.int64)
    centres, inverse = np.unique(np.column_stack((pts.lat, pts.lon)), axis=0, return_inverse=True)
    cells = np.fromiter(
        (h3.api.basic_int.latlng_to_cell(la, lo, PREVIEW_RESOLUTION) for la, lo in centres),
        dtype=np.int64,
        count=centres.shape[0],
    )
    out: IntArray = cells[inverse.reshape(-1)]
    return out


async def clusters(
    session: AsyncSession,
    viewer: Viewer,
    *,
    filt: LeadFilter,
    eps_m: float,
    min_samples: int,
    algorithm: Literal["grid", "postgis"],
    ctx: GeoContext,
) -> bytes:
    """DBSCAN clusters as encoded GeoJSON (see the route for the members). Raises InvalidInput
    for a status the viewer may not ask for, or postgis on SQLite."""
    statuses = checked_statuses(viewer, filt, ON_MARKET)
    used_eps = eps_m if viewer.exact else max(eps_m, cell_link_m(*filt.area.centre))
    min_size = 1 if viewer.exact else ctx.min_group
    params = {"eps_m": eps_m, "min_samples": min_samples, "algorithm": algorithm}

    def document(summary: ClusterSummary, n_points: int, approximate: int) -> bytes:
        doc = summary.to_geojson()
        sizes = [c.size for c in summary.clusters]
        doc.update(
            params,
            effective_eps_m=round(used_eps, 1),
            n_points=n_points,
            # Leads known only to their ZIP (or city): left out, and said so.
            n_approximate_excluded=approximate,
            n_clusters=len(sizes),
            legend=legend(sizes),
            **basis(viewer),
        )
        return encode(doc)

    async def compute_placed() -> bytes:
        placed, labels = await placed_labels(
            session, viewer, filt, statuses, eps_m=used_eps, min_samples=min_samples
        )

        def build() -> bytes:
            kept = drop_small(labels, min_size, placed.count)
            summary = summarize_clusters(
                placed.lat,
                placed.lon,
                kept,
                placed.price,
                cells=placed.cells,
                weights=placed.count,
                price_point=placed.place,
            )
            return document(summary, placed.n_leads, placed.approximate)

        return await anyio.to_thread.run_sync(build)

    async def compute() -> bytes:
        if not viewer.exact and algorithm == "grid":
            return await compute_placed()
        pts, labels = await cluster_labels(
            session,
            viewer,
            filt,
            statuses,
            eps_m=used_eps,
            min_samples=min_samples,
            algorithm=algorithm,
        )
        approximate = await approximate_count(session, viewer, filt, statuses)

        def build() -> bytes:
            kept = drop_small(labels, min_size)
            cells = None if viewer.exact else _preview_cells(pts)
            summary = summarize_clusters(pts.lat, pts.lon, kept, pts.price, cells=cells)
            return document(summary, int(pts.lat.size), approximate)

        return await anyio.to_thread.run_sync(build)

    return await cached_answer(
        session,
        ctx,
        endpoint="clusters",
        filt=filt,
        viewer=viewer,
        personal=LeadStatus.SOLD in statuses,
        params=params,
        compute=compute,
    )
