"""Score leads with the active model and price them: what `aiqleads score --all` and the
worker's `scoring.refresh` task run.

For each lead: the calibrated probability of a sale not returned within 30 days (the model),
its bucket within its territory (its metro: High = top 20 % of the metro's scores, Medium the
next 50 %, Low the bottom 30 %; leads.scores), its top reasons in words (scoring.reasons, from
TreeSHAP contributions), and its price, base × quality (of the bucket) × demand × market
(leads.pricing), with demand from the lead's own engagement and its ZIP's, and market from its
ZIP's market context (aiqleads.market) against its metro's.

A full run (every lead) sets each metro's bucket cuts from the scores it made (ranked by score,
then the model's raw margin, then the public id: leads.scores.RankKey) and stores them with the
model; a partial run (the leads whose features changed) buckets against the stored
cuts, so one new lead does not reshuffle its metro.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import PricingPolicy
from aiqleads.db.engine import transaction
from aiqleads.leads import repository as leads_repository
from aiqleads.leads import writes
from aiqleads.leads.pricing import DemandSignals, MarketSignals, price_factors
from aiqleads.leads.scores import RankKey, stored_cuts, territory_bucket, territory_cuts
from aiqleads.market.indicators import add_months, yyyymm
from aiqleads.market.service import market_context
from aiqleads.scoring import reasons, repository
from aiqleads.scoring.model import load

_ALL = "*"  # the cuts of every scored lead, for a metro the last full run did not see


@dataclass(frozen=True, slots=True)
class Rescored:
    """What a run did: the model version, leads scored, how many per bucket, distinct prices."""

    version: str
    scored: int
    buckets: dict[str, int] = field(default_factory=dict)
    distinct_prices: int = 0


@dataclass(frozen=True, slots=True)
class _Market:
    context: dict[str, float]
    # Whether its price series has a value in the 12 months ending with the month priced: a
    # trend read as of an older month (indicators' `price_as_of`) is no growth of today's.
    current: bool = True

    def engagement(self) -> float:
        return self.context["views_per_lead"] + self.context["holds_per_lead"]


def _ratio(a: float, b: float) -> float:
    """a / b, or 1.0 (no signal) when either is not a positive number."""
    return a / b if a > 0 and b > 0 else 1.0


def prices_current(context: dict[str, float], month: date) -> bool:
    """Whether a market context (`market_context`) read its price series as of a month in the 12
    months ending with `month` (its `price_as_of`, YYYYMM, 0 when it has none)."""
    return context["price_as_of"] >= yyyymm(add_months(month, -11))


async def _markets(
    session: AsyncSession, places: dict[int, tuple[str | None, str | None]], now: datetime
) -> dict[tuple[str, str | None], _Market]:
    """The market context of every ZIP and metro among `places`, once each."""
    month = now.date().replace(day=1)

    def market(ctx: dict[str, float]) -> _Market:
        return _Market(ctx, prices_current(ctx, month))

    out: dict[tuple[str, str | None], _Market] = {}
    for metro, zip_code in set(places.values()):
        if ("metro", metro) not in out and metro is not None:
            ctx = await market_context(session, zip_code=None, metro=metro, month=month, now=now)
            out[("metro", metro)] = market(ctx)
        if zip_code is not None and ("zip", zip_code) not in out:
            ctx = await market_context(
                session, zip_code=zip_code, metro=metro, month=month, now=now
            )
            out[("zip", zip_code)] = market(ctx)
    return out


def _signals(
    place: tuple[str | None, str | None],
    markets: dict[tuple[str, str | None], _Market],
) -> tuple[float, MarketSignals]:
    """(the ZIP's engagement per lead over its metro's, the market signals) of one lead."""
    metro, zip_code = place
    z = markets.get(("zip", zip_code)) if zip_code else None
    m = markets.get(("metro", metro)) if metro else None
    if z is None:
        return 1.0, MarketSignals()
    # A monthly slope of log price, per year; none when the ZIP's prices are not current.
    growth = z.context["price_trend_12m"] * 12 if z.current else 0.0
    if m is None:
        return 1.0, MarketSignals(annual_growth=growth)
    return _ratio(z.engagement(), m.engagement()), MarketSignals(
        price_level=_ratio(z.context["price_level"], m.context["price_level"]),
        annual_growth=growth,
        competition_ratio=_ratio(
            z.context["listings_per_buying_agent"], m.context["listings_per_buying_agent"]
        ),
    )


def _column(names: Sequence[str], name: str) -> int | None:
    return names.index(name) if name in names else None


async def rescore(
    sessions: async_sessionmaker[AsyncSession],
    provider: Any,
    *,
    now: datetime,
    policy: PricingPolicy,
    lead_ids: Sequence[int] | None = None,
    batch: int = 1000,
) -> Rescored:
    """Score and price `lead_ids` (None: every lead) with the active model; see the module doc.

    Raises LookupError without an active model; ArtifactError (scoring.model) when the
    provider's feature names differ from the model's."""
    async with transaction(sessions) as session:
        row = await repository.active(session)
        if row is None:
            raise LookupError("no active scoring model: train one (aiqleads train scoring)")
        matrix = await provider(session, now, None if lead_ids is None else list(lead_ids))
        ids = [int(i) for i in matrix.lead_ids]
        places = await leads_repository.places(session, ids)
        public_ids: dict[int, Any] = {}
        for start in range(0, len(ids), 5000):  # bounded IN lists, as `places` does
            public_ids.update(await leads_repository.public_ids(session, ids[start : start + 5000]))
        markets = await _markets(session, places, now)
        saved_cuts = dict(row.territory_cuts or {})
    if not ids:
        return Rescored(row.version, 0)
    names = tuple(matrix.names)
    values = np.asarray(matrix.values, dtype=np.float64)
    model = await asyncio.to_thread(load, Path(row.artifact_path), names)
    # Rounded as stored, before the cuts and buckets are taken from them: a stored score and its
    # bucket must agree at a cut (isotonic calibration ties many leads at one value).
    scores = np.round(np.clip(await asyncio.to_thread(model.predict, values), 0.0, 1.0), 6)
    contributions = await asyncio.to_thread(model.contributions, values)
    # Each lead's rank key (leads.scores.RankKey): the raw margin is the booster's log-odds, the
    # sum of its TreeSHAP contributions and bias, and breaks the calibrated score's ties.
    margins = contributions.sum(axis=1)
    keys: list[RankKey] = [
        (float(scores[n]), float(margins[n]), str(public_ids.get(lead_id, "")))
        for n, lead_id in enumerate(ids)
    ]

    metros = [places.get(i, (None, None))[0] or _ALL for i in ids]
    cuts: dict[str, tuple[RankKey, RankKey]] = {}
    if lead_ids is None:
        cuts[_ALL] = territory_cuts(keys)
        for metro in set(metros) - {_ALL}:
            cuts[metro] = territory_cuts(
                [k for k, m in zip(keys, metros, strict=True) if m == metro]
            )
        async with transaction(sessions) as session:
            await repository.set_territory_cuts(
                session, row.version, {k: [list(c) for c in v] for k, v in cuts.items()}
            )
    else:
        cuts = {k: stored_cuts(v) for k, v in saved_cuts.items()}

    viewers, holds = _column(names, "agents_7d"), _column(names, "holds_30d")
    rows: list[dict[str, Any]] = []
    for n, lead_id in enumerate(ids):
        score = float(scores[n])
        metro_cuts = cuts.get(metros[n]) or cuts.get(_ALL)
        bucket = territory_bucket(keys[n], metro_cuts) if metro_cuts else "B"
        area, market = _signals(places.get(lead_id, (None, None)), markets)
        demand = DemandSignals(
            viewers_7d=0 if viewers is None else int(values[n, viewers]),
            holds_30d=0 if holds is None else int(values[n, holds]),
            area_engagement_ratio=area,
        )
        price = price_factors(bucket, policy, demand=demand, market=market)
        rows.append(
            {
                "lead_id": lead_id,
                "score": score,
                "model_version": row.version,
                "score_bucket": bucket,
                "score_reasons": reasons.top_reasons(names, values[n], contributions[n]),
                "price_cents": price.cents,
                "price_factors": price.as_dict(),
            }
        )
    written = 0
    for start in range(0, len(rows), batch):
        async with transaction(sessions) as session:
            written += await writes.set_scores(session, rows[start : start + batch], now=now)
    return Rescored(
        version=row.version,
        scored=written,
        buckets=dict(Counter(r["score_bucket"] for r in rows)),
        distinct_prices=len({r["price_cents"] for r in rows}),
    )
