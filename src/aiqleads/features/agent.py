"""The "agent" feature set: an agent's behaviour in the event log (the same pure code as a
lead's, over the agent's events: counts by kind, distinct leads, engagement, sessions,
recency), as of `now`. An agent without events gets the documented defaults."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import FeatureSettings, get_settings
from aiqleads.features import gather
from aiqleads.features.behaviour import BehaviourParams, behaviour_names, behaviour_values
from aiqleads.features.matrix import FeatureMatrix
from aiqleads.kit.clock import as_utc

FEATURE_SET = "agent"
AGENT_FEATURES_VERSION = "1"
AGENT_FEATURES: tuple[str, ...] = behaviour_names("leads")


async def agent_features_batch(
    session: AsyncSession,
    now: datetime,
    account_ids: Sequence[int] | None = None,
    *,
    settings: FeatureSettings | None = None,
) -> FeatureMatrix:
    """Features of the given agents (when None: every agent with an event in the horizon),
    rows in ascending id order."""
    s = settings or get_settings().features
    params = BehaviourParams.of(s)
    values = await gather.behaviour(session, as_utc(now), params, by="account", ids=account_ids)
    ids = sorted(values) if account_ids is None else sorted(set(account_ids))
    quiet = behaviour_values([], params)
    matrix = np.asarray([values.get(i, quiet) for i in ids], dtype=np.float64)
    return FeatureMatrix(
        np.asarray(ids, dtype=np.int64),
        AGENT_FEATURES,
        matrix.reshape(len(ids), len(AGENT_FEATURES)),
    )


async def agent_features_online(
    session: AsyncSession,
    account_id: int,
    now: datetime,
    *,
    settings: FeatureSettings | None = None,
) -> dict[str, float]:
    """One agent's features at `now` ({name: value}), from the (account_id, at) index."""
    s = settings or get_settings().features
    params = BehaviourParams.of(s)
    values = await gather.behaviour(session, as_utc(now), params, by="account", ids=[account_id])
    row = values.get(account_id) or behaviour_values([], params)
    return dict(zip(AGENT_FEATURES, row, strict=True))
