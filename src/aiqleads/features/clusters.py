"""Cluster centres per metro for the cluster-distance feature, and a cache of them.

Clusters are geo's: `geo.dbscan.dbscan` over the located market leads of one metro (or of the
leads in no metro), with the radius and minimum points of the settings (the map's defaults),
and each centre as `geo.clusters` computes it. They describe the market as stored now.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.features import repository
from aiqleads.features.geospatial import FloatArray, cluster_centres
from aiqleads.geo.dbscan import dbscan

Centre = tuple[FloatArray, FloatArray]


async def compute_centres(
    session: AsyncSession, scope: str, *, eps_m: float, min_samples: int
) -> Centre:
    """(lat, lon) arrays of the scope's cluster centres, in cluster order."""
    lat, lon = await repository.scope_points(session, scope)
    if lat.size == 0:
        return np.empty(0), np.empty(0)

    def centres() -> Centre:
        return cluster_centres(lat, lon, dbscan(lat, lon, eps_m, min_samples).labels)

    # In a thread, off the event loop that runs other tasks (see features.lead._computed_geo).
    return await asyncio.to_thread(centres)


class ClusterCache:
    """Centres per scope, kept while the scope's data version (leads.versions) stays the same:
    every write to a metro's leads bumps it. One cache serves one database (versions of two
    databases may coincide): give each engine its own. Holds at most `max_scopes` entries."""

    def __init__(self, *, eps_m: float, min_samples: int, max_scopes: int = 64) -> None:
        self.eps_m = eps_m
        self.min_samples = min_samples
        self._max = max_scopes
        self._entries: OrderedDict[tuple[str, int], Centre] = OrderedDict()

    async def centres(self, session: AsyncSession, scopes: Sequence[str]) -> dict[str, Centre]:
        wanted = sorted(set(scopes))
        current = await repository.scope_versions(session, wanted)
        out: dict[str, Centre] = {}
        for scope in wanted:
            key = (scope, current[scope])
            found = self._entries.get(key)
            if found is None:
                found = await compute_centres(
                    session, scope, eps_m=self.eps_m, min_samples=self.min_samples
                )
                self._entries[key] = found
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(key)
            out[scope] = found
        return out


async def centres_for(
    session: AsyncSession,
    scopes: Sequence[str],
    *,
    eps_m: float,
    min_samples: int,
    cache: ClusterCache | None,
) -> dict[str, Centre]:
    """The scopes' centres, from the cache when given (and made with the same settings),
    computed afresh otherwise."""
    if cache is not None and (cache.eps_m, cache.min_samples) == (eps_m, min_samples):
        return await cache.centres(session, scopes)
    return {
        s: await compute_centres(session, s, eps_m=eps_m, min_samples=min_samples)
        for s in sorted(set(scopes))
    }
