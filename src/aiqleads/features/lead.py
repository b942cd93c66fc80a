"""The "lead" feature set: a lead's own facts, its behaviour in the event log, and the market
around it, by the same pure code online (one lead) and in batch (many).

Names and meanings: `facts.FACT_NAMES`, `behaviour.behaviour_names("agents")` (counts, distinct
agents, engagement, sessions, recency of the lead's events), `geospatial.GEO_NAMES`. Each value
has a documented default where its input is missing, so no value is ever NaN. Behaviour is as of
`now` (only events at or before it count); the geospatial values describe the market as stored.

What changes fast is computed per call (facts, which age with `now`, and behaviour); what
changes slowly is precomputed. A lead's geospatial values are those of the "lead_geo" set in
the feature store (`GEO_SET`, written by `aiqleads features build --set lead_geo`:
`lead_geo_batch` over the market as stored at that build) when the lead has a row there, and
are computed from the market as stored now when it has none (a lead that came after the last
build). Both paths follow that one rule, so they still give identical values; a build is what
brings the stored ones up to date.
Change `LEAD_FEATURES_VERSION` whenever a name, its order or its meaning changes: stored values
and trained models are keyed by it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import NamedTuple

import h3
import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import FeatureSettings, get_settings
from aiqleads.features import gather, repository
from aiqleads.features.behaviour import BehaviourParams, behaviour_names, behaviour_values
from aiqleads.features.clusters import ClusterCache, centres_for
from aiqleads.features.facts import FACT_NAMES, fact_values
from aiqleads.features.geospatial import GEO_NAMES, Places, geo_values
from aiqleads.features.matrix import FeatureMatrix
from aiqleads.kit.clock import as_utc

FEATURE_SET = "lead"
LEAD_FEATURES_VERSION = "1"
GEO_SET = "lead_geo"  # the precomputed geospatial values, a set of their own in the store
GEO_VERSION = "1"
LEAD_FEATURES: tuple[str, ...] = (*FACT_NAMES, *behaviour_names("agents"), *GEO_NAMES)


class UnknownLead(LookupError):
    """No lead has the id asked for."""


async def lead_features_batch(
    session: AsyncSession,
    now: datetime,
    lead_ids: list[int] | None = None,
    *,
    settings: FeatureSettings | None = None,
    clusters: ClusterCache | None = None,
) -> FeatureMatrix:
    """The features of the given leads (every lead when None; unknown ids are left out) at
    `now`, gathered in bulk: one read of the leads, of the event log and of the stored
    "lead_geo" rows; for leads without one, one read of the market and one clustering per
    metro. Rows in ascending id order."""
    s = settings or get_settings().features
    now = as_utc(now)
    inputs = await repository.lead_inputs(session, lead_ids, stored=(GEO_SET, GEO_VERSION))
    params = BehaviourParams.of(s)
    found = [int(i) for i in inputs.places.ids.tolist()]
    events = await gather.behaviour(
        session, now, params, by="lead", ids=None if lead_ids is None else found
    )
    geo = _stored_geo(inputs)
    missing = np.flatnonzero(~np.isfinite(geo[:, 0]))
    if missing.size:
        queries = inputs.places.take(missing)
        geo[missing] = await _computed_geo(
            session, queries, await repository.market(session), s, clusters
        )
    return _assemble(inputs, events, geo, params, now)


async def lead_geo_batch(
    session: AsyncSession,
    lead_ids: list[int] | None = None,
    *,
    settings: FeatureSettings | None = None,
    clusters: ClusterCache | None = None,
) -> FeatureMatrix:
    """The "lead_geo" set (`GEO_NAMES`) of the given leads (every lead when None), computed
    from the market as stored now, never read from the store: what a build of the set writes.
    Rows in ascending id order."""
    s = settings or get_settings().features
    places = await repository.lead_places(session, lead_ids)
    population = await repository.market(session)
    values = await _computed_geo(session, places, population, s, clusters)
    return FeatureMatrix(places.ids, GEO_NAMES, values)


async def lead_features_online(
    session: AsyncSession,
    lead_id: int,
    now: datetime,
    *,
    settings: FeatureSettings | None = None,
    clusters: ClusterCache | None = None,
) -> dict[str, float]:
    """One lead's features at `now` ({name: value} in `LEAD_FEATURES` order), from indexed
    reads of that lead with its stored "lead_geo" row, and of its events; without a stored
    row, of the market it can reach. Pass a `ClusterCache` to keep the metro's cluster centres
    between calls (they are recomputed otherwise; only a lead without a stored row needs them).

    Raises UnknownLead when no lead has the id."""
    found = await lead_features_and_region_online(
        session, lead_id, now, settings=settings, clusters=clusters
    )
    return found.values


class OnlineLead(NamedTuple):
    """`lead_features_online`'s values, and what the "lead_market" set needs next from the
    same read of the lead: its (ZIP, metro slug) and the instants (Unix seconds, or None) of
    their stored context snapshots for the month of `now`."""

    values: dict[str, float]
    region: tuple[str | None, str | None]
    snapshots: tuple[float | None, float | None]


async def lead_features_and_region_online(
    session: AsyncSession,
    lead_id: int,
    now: datetime,
    *,
    settings: FeatureSettings | None = None,
    clusters: ClusterCache | None = None,
) -> OnlineLead:
    """`lead_features_online` with the lead's region and its snapshots' instants (`OnlineLead`).
    Raises UnknownLead when no lead has the id."""
    s = settings or get_settings().features
    now = as_utc(now)
    inputs = await repository.lead_inputs(
        session, [lead_id], stored=(GEO_SET, GEO_VERSION), snapshots_at=now
    )
    if inputs.places.ids.size == 0:
        raise UnknownLead(lead_id)
    params = BehaviourParams.of(s)
    events = await gather.behaviour(session, now, params, by="lead", ids=[lead_id])
    geo = _stored_geo(inputs)
    if not np.isfinite(geo[0, 0]):
        place = inputs.places
        lat, lon, cell = float(place.lat[0]), float(place.lon[0]), int(place.cell[0])
        located = bool(np.isfinite(lat) and np.isfinite(lon))
        population = await repository.market_near(
            session,
            lat=lat if located else None,
            lon=lon if located else None,
            radius_m=s.radius_m,
            cells=sorted(h3.api.basic_int.grid_disk(cell, 1)) if cell >= 0 else [],
        )
        geo = await _computed_geo(session, place, population, s, clusters)
    return OnlineLead(
        _assemble(inputs, events, geo, params, now).row(lead_id),
        inputs.regions[0],
        inputs.snapshots[0],
    )


def _stored_geo(inputs: repository.LeadInputs) -> NDArray[np.float64]:
    """The leads' stored "lead_geo" values, (n, len(GEO_NAMES)) in their order; NaN rows for
    leads without a complete stored row."""
    out = np.full((len(inputs.stored), len(GEO_NAMES)), np.nan)
    for n, values in enumerate(inputs.stored):
        if values and all(name in values for name in GEO_NAMES):
            out[n] = [values[name] for name in GEO_NAMES]
    return out


async def _computed_geo(
    session: AsyncSession,
    queries: Places,
    population: Places,
    s: FeatureSettings,
    clusters: ClusterCache | None,
) -> NDArray[np.float64]:
    """`geo_values` of the queries against the population, with their metros' centres."""
    centres = await centres_for(
        session,
        queries.scope,
        eps_m=s.cluster_eps_m,
        min_samples=s.cluster_min_samples,
        cache=clusters,
    )
    # In a thread: at 1M leads this is half a minute of numpy and scipy (which let the GIL
    # go), and the event loop it would hold runs the other tasks (the hold sweeper) or, with
    # the embedded worker, the API.
    return await asyncio.to_thread(
        geo_values, queries, population, centres, radius_m=s.radius_m, far_km=s.far_km
    )


def _assemble(
    inputs: repository.LeadInputs,
    events: dict[int, list[float]],
    geo: NDArray[np.float64],
    params: BehaviourParams,
    now: datetime,
) -> FeatureMatrix:
    ids = inputs.places.ids
    quiet = behaviour_values([], params)
    rows = [
        [*fact_values(f, now), *events.get(int(i), quiet)]
        for f, i in zip(inputs.facts, ids.tolist(), strict=True)
    ]
    own = np.asarray(rows, dtype=np.float64).reshape(ids.size, len(FACT_NAMES) + len(quiet))
    return FeatureMatrix(ids, LEAD_FEATURES, np.hstack([own, geo]))
