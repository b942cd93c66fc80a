"""Lead quality and lead price, by the rules of DESIGN.md section 2.

`rules-1` is a transparent, rule-based quality score, given at ingestion: the learned scoring
model (aiqleads.scoring) replaces it and records its own version in `model_version`; it stays the
heuristic baseline the model is evaluated against.

The price is base × quality × demand × market, clamped to the policy's bounds (the tier discount
is taken off when an agent sees or holds it). It is shown in every preview, so it is computed from
what the preview shows or no single lead's purchase could reveal: the score's bucket (never the
exact score), the lead's own engagement (views and holds by agents), and its ZIP's and metro's
market. Never from the exact point, the owner's contact or the source.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from aiqleads.config import PricingPolicy
from aiqleads.leads.scores import score_bucket

RULES_VERSION = "rules-1"
_FRESH = timedelta(days=30)
_STALE = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class LeadSignals:
    has_owner_name: bool
    has_owner_phone: bool
    has_owner_email: bool
    has_exact_location: bool
    facts_present: int  # how many of bedrooms, bathrooms, living area, lot, year built are known
    has_asking_price: bool
    listed_at: datetime | None

    @classmethod
    def of(
        cls,
        *,
        owner_name: object,
        owner_phone: object,
        owner_email: object,
        geocode_precision: str | None,
        facts: Sequence[object],
        asking_price_cents: int | None,
        listed_at: datetime | None,
    ) -> LeadSignals:
        """The signals of a lead's stored values: each owner contact present or not (in clear or
        encrypted alike), the geocode precision ("exact" counts as an exact location), and its
        property facts (bedrooms, bathrooms, living area, lot, year built), each known or None."""
        return cls(
            has_owner_name=owner_name is not None,
            has_owner_phone=owner_phone is not None,
            has_owner_email=owner_email is not None,
            has_exact_location=geocode_precision == "exact",
            facts_present=sum(f is not None for f in facts),
            has_asking_price=asking_price_cents is not None,
            listed_at=listed_at,
        )


def _freshness(listed_at: datetime | None, now: datetime) -> float:
    """1.0 for a listing under a month old, falling linearly to 0.2 at a year and beyond."""
    if listed_at is None:
        return 0.5
    age = now - listed_at
    if age <= _FRESH:
        return 1.0
    if age >= _STALE:
        return 0.2
    return 1.0 - 0.8 * (age - _FRESH) / (_STALE - _FRESH)


def quality_score(s: LeadSignals, now: datetime) -> float:
    """A score in [0, 1]: contact completeness 40 %, property completeness 35 %, freshness 25 %."""
    contact = 0.2 * s.has_owner_name + 0.5 * s.has_owner_phone + 0.3 * s.has_owner_email
    prop = (
        0.5 * min(s.facts_present, 5) / 5 + 0.25 * s.has_asking_price + 0.25 * s.has_exact_location
    )
    return round(0.40 * contact + 0.35 * prop + 0.25 * _freshness(s.listed_at, now), 4)


@dataclass(frozen=True, slots=True)
class DemandSignals:
    """A lead's demand: distinct agents who viewed it in the last 7 days, holds taken on it in the
    last 30 days, and its ZIP's engagement (views and holds per lead, 30 days) over its metro's
    (1.0 when either is unknown)."""

    viewers_7d: int = 0
    holds_30d: int = 0
    area_engagement_ratio: float = 1.0


@dataclass(frozen=True, slots=True)
class MarketSignals:
    """A lead's market: its ZIP's median price for its kind over its metro's (1.0 unknown), the
    ZIP's annual growth of log median price (0.0 unknown; aiqleads.market's 12-month trend × 12),
    and its active listings per buying agent over the metro's (1.0 unknown)."""

    price_level: float = 1.0
    annual_growth: float = 0.0
    competition_ratio: float = 1.0


@dataclass(frozen=True, slots=True)
class PriceFactors:
    """How a lead's list price (before the tier discount) was made: cents = clamp(base × quality
    × demand × market). Shown in a lead's detail answer."""

    base_cents: int
    quality: float
    demand: float
    market: float
    cents: int

    def as_dict(self) -> dict[str, float | int]:
        # Not dataclasses.asdict, which deep-copies each value: 10 µs a lead at ingestion.
        return {name: getattr(self, name) for name in _PRICE_FACTOR_FIELDS}


_PRICE_FACTOR_FIELDS = tuple(f.name for f in fields(PriceFactors))


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def _positive_ratio(x: float) -> float:
    """A ratio that multiplies, guarded: non-finite or non-positive reads as 1.0 (no signal)."""
    return x if math.isfinite(x) and x > 0 else 1.0


def demand_multiplier(d: DemandSignals, policy: PricingPolicy) -> float:
    """1 + w_v·ln(1 + viewers) + w_h·min(holds, cap) + w_a·ln(area ratio), clamped to the
    policy's demand bounds (0.8–1.6 by default). A lead nobody has looked at, in an average ZIP,
    gets 1.0."""
    raw = (
        1.0
        + policy.demand_viewers_weight * math.log1p(max(d.viewers_7d, 0))
        + policy.demand_holds_weight * min(max(d.holds_30d, 0), policy.demand_holds_cap)
        + policy.demand_area_weight * math.log(_positive_ratio(d.area_engagement_ratio))
    )
    return round(_clamp(raw, policy.demand_min, policy.demand_max), 4)


def market_multiplier(m: MarketSignals, policy: PricingPolicy) -> float:
    """level^a · exp(b · growth) · competition^-c, clamped to the policy's market bounds
    (0.75–1.5 by default): dearer and rising markets raise a lead's price, a market with many
    listings per buying agent lowers it. An unknown market gives 1.0."""
    growth = m.annual_growth if math.isfinite(m.annual_growth) else 0.0
    raw = (
        _positive_ratio(m.price_level) ** policy.market_level_exponent
        * math.exp(policy.market_growth_weight * _clamp(growth, -1.0, 1.0))
        * _positive_ratio(m.competition_ratio) ** -policy.market_competition_exponent
    )
    return round(_clamp(raw, policy.market_min, policy.market_max), 4)


def quality_multiplier(bucket: str | None, policy: PricingPolicy) -> float:
    """The policy's multiplier for a score bucket (0.5–2.0); an unscored lead's is neutral."""
    if bucket is None:
        return policy.quality_unscored
    return policy.quality_by_bucket.get(bucket, policy.quality_unscored)


def price_factors(
    bucket: str | None,
    policy: PricingPolicy,
    *,
    demand: DemandSignals | None = None,
    market: MarketSignals | None = None,
) -> PriceFactors:
    """The lead price in integer cents of the policy's currency, with its factors.

    Missing signals count as neutral (1.0), so a brand-new lead in an unknown market costs
    base × quality."""
    q = quality_multiplier(bucket, policy)
    dm = demand_multiplier(demand or DemandSignals(), policy)
    mk = market_multiplier(market or MarketSignals(), policy)
    raw = policy.base_cents * q * dm * mk
    cents = int(_clamp(round(raw), policy.min_cents, policy.max_cents))
    return PriceFactors(base_cents=policy.base_cents, quality=q, demand=dm, market=mk, cents=cents)


def lead_price_cents(score: float | None, policy: PricingPolicy) -> int:
    """The price of a lead known only by its rules-1 score (at ingestion, before any demand or
    market signal): base × the quality of its score's bucket, clamped."""
    return price_factors(score_bucket(score), policy).cents
