"""Lead quality and lead price, by the rules of DESIGN.md section 2.

`rules-1` is a transparent, rule-based quality score: the learned scoring model replaces it and
records its own version in `model_version`. Demand and market multipliers are 1.0 until the
behaviour and market features exist; they are parameters, not constants, so callers that have
them can pass them now.

The price is shown in every preview, so it may depend on the score only through the score's
bucket (`leads.scores`): priced from the exact score, it would give the exact score away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aiqleads.config import PricingPolicy
from aiqleads.leads.scores import BUCKET_MIDPOINT, score_bucket

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


def quality_multiplier(score: float) -> float:
    """Maps a score in [0, 1] onto the 0.5–2.0 quality multiplier."""
    return 0.5 + 1.5 * min(max(score, 0.0), 1.0)


def lead_price_cents(
    score: float | None, policy: PricingPolicy, *, demand: float = 1.0, market: float = 1.0
) -> int:
    """Base × quality × demand × market, clamped to the policy's bounds (integer cents).

    Quality is the multiplier of the middle of the score's bucket (an unscored lead counts as
    1.0), so two leads in one bucket cost the same until demand and market tell them apart.
    """
    bucket = score_bucket(score)
    quality = 1.0 if bucket is None else quality_multiplier(BUCKET_MIDPOINT[bucket])
    raw = policy.base_cents * quality * demand * market
    return int(min(max(round(raw), policy.min_cents), policy.max_cents))
