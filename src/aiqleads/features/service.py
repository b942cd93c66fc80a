"""Building the feature store: compute a set in batch and write it, read it back.

The sets, in the order a full build makes them: "lead_geo" (the leads' geospatial values,
precomputed: the "lead" and "lead_market" sets read them back, see aiqleads.features.lead),
"lead", "agent" and "lead_market" (what the scoring model reads). Each row is keyed by entity,
set and version, with the time it was computed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import FeatureSettings
from aiqleads.features import agent, lead, lead_market, repository
from aiqleads.features.clusters import ClusterCache
from aiqleads.features.matrix import FeatureMatrix

FEATURE_SETS = (lead.GEO_SET, lead.FEATURE_SET, agent.FEATURE_SET, lead_market.FEATURE_SET)
_ENTITY = {
    lead.GEO_SET: "lead",
    lead.FEATURE_SET: "lead",
    agent.FEATURE_SET: "agent",
    lead_market.FEATURE_SET: "lead",
}
_VERSION = {
    lead.GEO_SET: lead.GEO_VERSION,
    lead.FEATURE_SET: lead.LEAD_FEATURES_VERSION,
    agent.FEATURE_SET: agent.AGENT_FEATURES_VERSION,
    lead_market.FEATURE_SET: lead_market.LEAD_MARKET_FEATURES_VERSION,
}


_WRITE_ROWS = 10_000  # entities whose values `build` holds as mappings at once


@dataclass(frozen=True, slots=True)
class BuildResult:
    feature_set: str
    version: str
    entities: int
    features: int


async def compute(
    session: AsyncSession,
    feature_set: str,
    now: datetime,
    lead_ids: Sequence[int] | None = None,
    *,
    settings: FeatureSettings | None = None,
    clusters: ClusterCache | None = None,
) -> FeatureMatrix:
    """The set in batch at `now`: of the given entities (leads, or agents for "agent"), or
    when None of every lead, or every agent with events. Raises ValueError for an unknown
    set."""
    ids = None if lead_ids is None else list(lead_ids)
    if feature_set == lead.GEO_SET:
        return await lead.lead_geo_batch(session, ids, settings=settings, clusters=clusters)
    if feature_set == lead.FEATURE_SET:
        return await lead.lead_features_batch(
            session, now, ids, settings=settings, clusters=clusters
        )
    if feature_set == agent.FEATURE_SET:
        return await agent.agent_features_batch(session, now, ids, settings=settings)
    if feature_set == lead_market.FEATURE_SET:
        return await lead_market.lead_market_features_batch(
            session, now, ids, settings=settings, clusters=clusters
        )
    raise ValueError(f"unknown feature set {feature_set!r}; known: {', '.join(FEATURE_SETS)}")


async def build(
    session: AsyncSession,
    feature_set: str,
    now: datetime,
    *,
    settings: FeatureSettings | None = None,
) -> BuildResult:
    """Compute the set and upsert it into the store at its current version, `computed_at` =
    `now`. Running it again at the same `now` writes the same rows (idempotent)."""
    matrix = await compute(session, feature_set, now, settings=settings)
    written = 0
    # A mapping per entity for `_WRITE_ROWS` entities at a time: made for every lead at once,
    # they held about half a kilobyte a lead (half a gigabyte at 1M leads) in the worker.
    for start in range(0, matrix.ids.size, _WRITE_ROWS):
        stop = start + _WRITE_ROWS
        rows = {
            i: dict(zip(matrix.names, vals, strict=True))
            for i, vals in zip(
                matrix.ids[start:stop].tolist(), matrix.values[start:stop].tolist(), strict=True
            )
        }
        written += await repository.upsert(
            session,
            entity_kind=_ENTITY[feature_set],
            feature_set=feature_set,
            version=_VERSION[feature_set],
            computed_at=now,
            rows=rows,
        )
    return BuildResult(feature_set, _VERSION[feature_set], written, len(matrix.names))


async def stored(
    session: AsyncSession,
    feature_set: str,
    entity_ids: Sequence[int],
    *,
    version: str | None = None,
) -> dict[int, repository.StoredFeatures]:
    """The latest stored values of the set for each entity (of the current version unless one
    is given); entities never built are absent."""
    if feature_set not in _ENTITY:
        raise ValueError(f"unknown feature set {feature_set!r}; known: {', '.join(FEATURE_SETS)}")
    return await repository.latest(
        session,
        entity_kind=_ENTITY[feature_set],
        feature_set=feature_set,
        entity_ids=entity_ids,
        version=version or _VERSION[feature_set],
    )
