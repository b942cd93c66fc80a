"""The "lead_market" feature set: the "lead" set, the market context of the lead's ZIP, and
interactions of the lead's behaviour with that market, by the same pure code online and in batch.

Columns, in order (`LEAD_MARKET_FEATURES`):

1. `LEAD_FEATURES` (aiqleads.features.lead), unchanged.
2. `market_<key>` for each key of `MARKET_KEYS`: `aiqleads.market.service.market_context` of
   the lead's ZIP in the calendar month of `now`, its activity counted over the 30 days before
   `now` (units and defaults: `aiqleads.market.indicators`): price trends are OLS slopes of
   ln(monthly median price) per month (0.01 ≈ 1 % a month), volatility the population standard
   deviation of monthly log changes, `listings_per_buying_agent` on-market leads per distinct
   agent who held or bought, `share_sold` the ZIP's leads sold / its leads, `views_per_lead`
   and `holds_per_lead` events of 30 days per lead, `months_of_supply` on-market leads per
   month of sales (3-month mean), `sale_to_list` Redfin's ratio (1.0 without one),
   `median_dom` days, `zhvi_trend_12m` / `zori_trend_12m` Zillow's index trends.
   A lead without a ZIP takes its metro's context; a lead with neither takes the context of no
   region (`market_context` with neither: `indicators.DEFAULTS`, but for the national Zillow
   and Redfin series when they are loaded). When `aiqleads market compute` has stored a
   snapshot of the region's context in the month of `now`, taken at or before `now`, that
   snapshot is the context (activity as of the instant it was taken): see `region_context`.
3. Integration features, behaviour × market (plain products or differences, so a model and a
   reader see the same number):
   - `views_7d_x_price_trend_12m` = views_7d × market_price_trend_12m: attention on a lead in
     a rising (positive) or falling (negative) market;
   - `engagement_x_share_sold` = engagement × market_share_sold: engagement where leads sell;
   - `holds_30d_x_listings_per_buying_agent` = holds_30d × market_listings_per_buying_agent:
     holds where each buyer has many listings to choose from (holds there say more);
   - `price_vs_nbhd_x_price_trend_12m` = price_vs_nbhd × market_price_trend_12m: a lead priced
     below its neighbourhood in a rising market is the bargain;
   - `views_30d_vs_market` = views_30d − market_views_per_lead: the lead's views of 30 days
     above (or below) the mean lead of its ZIP over the same 30 days;
   - `holds_30d_vs_market` = holds_30d − market_holds_per_lead: the same for holds.

Every value is finite (the inputs are, and products and differences of finite values of these
sizes are). Change `LEAD_MARKET_FEATURES_VERSION` whenever a name, its order or its meaning
changes, including a change of the "lead" set (stored values and trained models are keyed by it).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import FeatureSettings, get_settings
from aiqleads.features import repository
from aiqleads.features.clusters import ClusterCache
from aiqleads.features.lead import (
    LEAD_FEATURES,
    LEAD_FEATURES_VERSION,
    lead_features_and_region_online,
    lead_features_batch,
)
from aiqleads.features.matrix import FeatureMatrix
from aiqleads.kit.clock import as_utc
from aiqleads.market.service import context_snapshot_at, market_context

FEATURE_SET = "lead_market"
# 2: market values read as of each series' latest month with data, not 0 past its end.
LEAD_MARKET_FEATURES_VERSION = f"2+lead{LEAD_FEATURES_VERSION}"
MARKET_KEYS: tuple[str, ...] = (
    "price_trend_3m",
    "price_trend_6m",
    "price_trend_12m",
    "price_volatility_12m",
    "listings_per_buying_agent",
    "share_sold",
    "views_per_lead",
    "holds_per_lead",
    "months_of_supply",
    "sale_to_list",
    "median_dom",
    "zhvi_trend_12m",
    "zori_trend_12m",
)
MARKET_FEATURES: tuple[str, ...] = tuple(f"market_{k}" for k in MARKET_KEYS)
# (name, behaviour feature, market feature, operation): "mul" a × b, "sub" a − b.
INTERACTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("views_7d_x_price_trend_12m", "views_7d", "market_price_trend_12m", "mul"),
    ("engagement_x_share_sold", "engagement", "market_share_sold", "mul"),
    (
        "holds_30d_x_listings_per_buying_agent",
        "holds_30d",
        "market_listings_per_buying_agent",
        "mul",
    ),
    ("price_vs_nbhd_x_price_trend_12m", "price_vs_nbhd", "market_price_trend_12m", "mul"),
    ("views_30d_vs_market", "views_30d", "market_views_per_lead", "sub"),
    ("holds_30d_vs_market", "holds_30d", "market_holds_per_lead", "sub"),
)
INTERACTION_FEATURES: tuple[str, ...] = tuple(name for name, *_ in INTERACTIONS)
LEAD_MARKET_FEATURES: tuple[str, ...] = (*LEAD_FEATURES, *MARKET_FEATURES, *INTERACTION_FEATURES)

Region = tuple[str, str]
"""The region whose context a lead takes: ("zip", ZIP), ("metro", slug) or ("none", "")."""
NO_REGION: Region = ("none", "")

_LEAD_COLUMN = {name: j for j, name in enumerate(LEAD_FEATURES)}
_MARKET_COLUMN = {name: j for j, name in enumerate(MARKET_FEATURES)}


def region_of(zip_code: str | None, metro: str | None) -> Region:
    """The ZIP when the lead has one, else its metro, else no region."""
    if zip_code:
        return ("zip", zip_code)
    if metro:
        return ("metro", metro)
    return NO_REGION


def month_of(now: datetime) -> date:
    """The calendar month (UTC) whose market context a lead takes at `now`."""
    return as_utc(now).date().replace(day=1)


class ContextCache:
    """Context snapshots read (`market.service.context_snapshot_at`), by region, month and the
    instant they were taken: a snapshot is known by its instant, so a kept one is what a read
    would give. One cache serves one database; holds at most `max_entries`."""

    def __init__(self, *, max_entries: int = 4096) -> None:
        self._max = max_entries
        self._entries: OrderedDict[tuple[Region, date, float], dict[str, float]] = OrderedDict()

    def get(self, region: Region, month: date, taken: float) -> dict[str, float] | None:
        found = self._entries.get((region, month, taken))
        if found is not None:
            self._entries.move_to_end((region, month, taken))
        return found

    def put(self, region: Region, month: date, taken: float, values: dict[str, float]) -> None:
        self._entries[(region, month, taken)] = values
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


async def region_context(
    session: AsyncSession,
    region: Region,
    now: datetime,
    *,
    contexts: ContextCache | None = None,
) -> dict[str, float]:
    """The region's market context at `now` ({key: value} over `MARKET_KEYS`): the snapshot
    `aiqleads market compute` stored for the month of `now` (`market.service.context_snapshot`:
    one taken at or before `now`) when there is one, else `market_context` of the region in the
    month of `now`, activity as of `now`. The one rule both paths follow."""
    kind, name = region
    now = as_utc(now)
    if kind != NO_REGION[0]:
        found = await context_snapshot_at(session, region_kind=kind, region=name, now=now)
        if found is not None:
            values = {k: found[1][k] for k in MARKET_KEYS}
            if contexts is not None:
                contexts.put(region, month_of(now), found[0], values)
            return values
    ctx = await market_context(
        session,
        zip_code=name if kind == "zip" else None,
        metro=name if kind == "metro" else None,
        month=month_of(now),
        now=as_utc(now),
    )
    return {k: float(ctx[k]) for k in MARKET_KEYS}


def assemble(
    ids: NDArray[np.int64],
    lead_values: NDArray[np.float64],
    contexts: Sequence[Mapping[str, float]],
) -> FeatureMatrix:
    """The feature matrix of the set, pure: `lead_values` (n, len(LEAD_FEATURES)) are the
    leads' "lead" features, `contexts[i]` the market context of lead i (keys `MARKET_KEYS`).
    The one place the set's values are made, for one lead or many. Raises ValueError when a
    shape does not fit or a value is not finite."""
    n = ids.size
    if lead_values.shape != (n, len(LEAD_FEATURES)) or len(contexts) != n:
        raise ValueError(
            f"{n} ids, lead values {lead_values.shape} and {len(contexts)} contexts do not fit"
        )
    market = np.array(
        [[float(c[k]) for k in MARKET_KEYS] for c in contexts], dtype=np.float64
    ).reshape(n, len(MARKET_KEYS))
    mixed = np.empty((n, len(INTERACTIONS)), dtype=np.float64)
    for j, (_, behaviour, context, op) in enumerate(INTERACTIONS):
        a = lead_values[:, _LEAD_COLUMN[behaviour]]
        b = market[:, _MARKET_COLUMN[context]]
        mixed[:, j] = a * b if op == "mul" else a - b
    return FeatureMatrix(ids, LEAD_MARKET_FEATURES, np.hstack([lead_values, market, mixed]))


async def lead_market_features_batch(
    session: AsyncSession,
    now: datetime,
    lead_ids: Sequence[int] | None = None,
    *,
    settings: FeatureSettings | None = None,
    clusters: ClusterCache | None = None,
) -> FeatureMatrix:
    """The set for the given leads (every lead when None; unknown ids are left out) at `now`,
    rows in ascending id order: the "lead" set in batch, then the market context of each
    distinct region among them, computed once for this call, then `assemble`. A scoring
    feature provider (the signature of `lead_features_batch`)."""
    s = settings or get_settings().features
    base = await lead_features_batch(
        session, now, None if lead_ids is None else list(lead_ids), settings=s, clusters=clusters
    )
    ids = [int(i) for i in base.ids.tolist()]
    places = await repository.lead_zip_metro(session, ids)
    regions = [region_of(*places.get(i, (None, None))) for i in ids]
    cache: dict[Region, dict[str, float]] = {}
    for region in sorted(set(regions)):
        cache[region] = await region_context(session, region, now)
    return assemble(base.ids, base.values, [cache[r] for r in regions])


async def lead_market_features_online(
    session: AsyncSession,
    lead_id: int,
    now: datetime,
    *,
    settings: FeatureSettings | None = None,
    clusters: ClusterCache | None = None,
    contexts: ContextCache | None = None,
) -> dict[str, float]:
    """One lead's values at `now` ({name: value} in `LEAD_MARKET_FEATURES` order): its "lead"
    features online, the market context of its region (`region_context`), then `assemble` on
    one row. Pass a `ContextCache` to keep the snapshots read between calls: the read of the
    lead brings the instant of its region's snapshot, so a kept one costs no query.

    Raises UnknownLead when no lead has the id."""
    s = settings or get_settings().features
    base, place, instants = await lead_features_and_region_online(
        session, lead_id, now, settings=s, clusters=clusters
    )
    region = region_of(*place)
    kept = None
    if contexts is not None and region != NO_REGION:
        # The instant of the region's snapshot came with the lead: a snapshot read before
        # under it is the one `region_context` would read now.
        taken = instants[0] if region[0] == "zip" else instants[1]
        if taken is not None and taken <= as_utc(now).timestamp():
            kept = contexts.get(region, month_of(now), taken)
    if kept is not None:
        context = kept
    else:
        context = await region_context(session, region, now, contexts=contexts)
    row = np.array([[base[name] for name in LEAD_FEATURES]], dtype=np.float64)
    matrix = assemble(np.array([lead_id], dtype=np.int64), row, [context])
    return matrix.row(lead_id)
