"""The "lead" feature set: a lead's own facts, its behaviour in the event log, and the market
around it, by the same pure code online (one lead) and in batch (many).

Names and meanings: `facts.FACT_NAMES`, `behaviour.behaviour_names("agents")` (counts, distinct
agents, engagement, sessions, recency of the lead's events), `geospatial.GEO_NAMES`. Each value
has a documented default where its input is missing, so no value is ever NaN. Behaviour is as of
`now` (only events at or before it count); the geospatial values describe the market as stored.
Change `LEAD_FEATURES_VERSION` whenever a name, its order or its meaning changes: stored values
and trained models are keyed by it.
"""

from __future__ import annotations

from datetime import datetime

import h3
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import FeatureSettings, get_settings
from aiqleads.features import gather, repository
from aiqleads.features.behaviour import BehaviourParams, behaviour_names, behaviour_values
from aiqleads.features.clusters import Centre, ClusterCache, centres_for
from aiqleads.features.facts import FACT_NAMES, fact_values
from aiqleads.features.geospatial import GEO_NAMES, Places, geo_values
from aiqleads.features.matrix import FeatureMatrix
from aiqleads.kit.clock import as_utc

FEATURE_SET = "lead"
LEAD_FEATURES_VERSION = "1"
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
    `now`, gathered in bulk: one read of the leads, one of the market, one of the event log,
    one clustering per metro. Rows in ascending id order."""
    s = settings or get_settings().features
    now = as_utc(now)
    inputs = await repository.lead_inputs(session, lead_ids)
    population = await repository.market(session)
    params = BehaviourParams.of(s)
    found = [int(i) for i in inputs.places.ids.tolist()]
    events = await gather.behaviour(
        session, now, params, by="lead", ids=None if lead_ids is None else found
    )
    centres = await centres_for(
        session,
        inputs.places.scope,
        eps_m=s.cluster_eps_m,
        min_samples=s.cluster_min_samples,
        cache=clusters,
    )
    return _assemble(inputs, population, events, centres, params, s, now)


async def lead_features_online(
    session: AsyncSession,
    lead_id: int,
    now: datetime,
    *,
    settings: FeatureSettings | None = None,
    clusters: ClusterCache | None = None,
) -> dict[str, float]:
    """One lead's features at `now` ({name: value} in `LEAD_FEATURES` order), from indexed
    reads of that lead, its events and the market it can reach. Pass a `ClusterCache` to keep
    the metro's cluster centres between calls (they are recomputed otherwise).

    Raises UnknownLead when no lead has the id."""
    s = settings or get_settings().features
    now = as_utc(now)
    inputs = await repository.lead_inputs(session, [lead_id])
    if inputs.places.ids.size == 0:
        raise UnknownLead(lead_id)
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
    params = BehaviourParams.of(s)
    events = await gather.behaviour(session, now, params, by="lead", ids=[lead_id])
    centres = await centres_for(
        session,
        place.scope,
        eps_m=s.cluster_eps_m,
        min_samples=s.cluster_min_samples,
        cache=clusters,
    )
    matrix = _assemble(inputs, population, events, centres, params, s, now)
    return matrix.row(lead_id)


def _assemble(
    inputs: repository.LeadInputs,
    population: Places,
    events: dict[int, list[float]],
    centres: dict[str, Centre],
    params: BehaviourParams,
    s: FeatureSettings,
    now: datetime,
) -> FeatureMatrix:
    ids = inputs.places.ids
    quiet = behaviour_values([], params)
    geo = geo_values(inputs.places, population, centres, radius_m=s.radius_m, far_km=s.far_km)
    rows = [
        [*fact_values(f, now), *events.get(int(i), quiet)]
        for f, i in zip(inputs.facts, ids.tolist(), strict=True)
    ]
    own = np.asarray(rows, dtype=np.float64).reshape(ids.size, len(FACT_NAMES) + len(quiet))
    return FeatureMatrix(ids, LEAD_FEATURES, np.hstack([own, geo]))
