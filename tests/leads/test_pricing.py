"""The lead price (DESIGN.md section 2) and the score buckets it is made from."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aiqleads.config import PricingPolicy
from aiqleads.leads.pricing import (
    DemandSignals,
    MarketSignals,
    demand_multiplier,
    market_multiplier,
    price_factors,
)
from aiqleads.leads.scores import score_bucket, stored_cuts, territory_bucket, territory_cuts

POLICY = PricingPolicy()


def test_a_new_lead_in_an_unknown_market_costs_base_times_its_bucket() -> None:
    # Given no demand or market signal, when priced, then only the bucket moves the price
    for bucket, cents in (("A", 1800), ("B", 1000), ("C", 600), (None, 1000)):
        f = price_factors(bucket, POLICY)
        assert (f.demand, f.market, f.cents) == (1.0, 1.0, cents)


def test_demand_follows_viewers_holds_and_the_area_by_hand() -> None:
    # Given 4 distinct viewers, 2 holds and a ZIP twice as engaged as its metro
    d = DemandSignals(viewers_7d=4, holds_30d=2, area_engagement_ratio=2.0)
    # Then demand = 1 + 0.08·ln 5 + 0.1·2 + 0.15·ln 2
    expected = 1 + 0.08 * math.log(5) + 0.2 + 0.15 * math.log(2)
    assert demand_multiplier(d, POLICY) == pytest.approx(expected, abs=1e-4)
    # And holds count up to the cap only, and the multiplier stays in its bounds
    assert demand_multiplier(DemandSignals(holds_30d=50), POLICY) == pytest.approx(1.3)
    assert demand_multiplier(DemandSignals(viewers_7d=10**9, holds_30d=9), POLICY) == 1.6
    assert demand_multiplier(DemandSignals(area_engagement_ratio=1e-9), POLICY) == 0.8


def test_market_follows_level_growth_and_competition_by_hand() -> None:
    m = MarketSignals(price_level=1.6, annual_growth=0.1, competition_ratio=2.0)
    expected = 1.6**0.25 * math.exp(0.05) * 2.0**-0.1
    assert market_multiplier(m, POLICY) == pytest.approx(expected, abs=1e-4)
    assert market_multiplier(MarketSignals(price_level=100.0), POLICY) == 1.5
    assert market_multiplier(MarketSignals(price_level=0.001), POLICY) == 0.75


@pytest.mark.parametrize(
    "bad",
    [
        MarketSignals(price_level=math.nan),
        MarketSignals(price_level=-2.0, annual_growth=math.inf),
        MarketSignals(price_level=0.0, competition_ratio=math.nan),
    ],
)
def test_non_finite_or_non_positive_market_signals_read_as_no_signal(bad: MarketSignals) -> None:
    # A ZIP with one sale, or a series with a hole, must never price a lead at NaN
    assert market_multiplier(bad, POLICY) == 1.0


def test_the_price_is_clamped_to_the_policys_bounds() -> None:
    dear = price_factors(
        "A",
        POLICY,
        demand=DemandSignals(viewers_7d=1000, holds_30d=3, area_engagement_ratio=10),
        market=MarketSignals(price_level=50, annual_growth=1),
    )
    assert dear.cents == 1800 * 1.6 * 1.5 == 4320
    cheap = price_factors("C", POLICY, market=MarketSignals(price_level=0.01))
    assert cheap.cents == 500  # 600 × 0.75 = 450, raised to the $5 floor
    assert cheap.as_dict() == {
        "base_cents": 1000,
        "quality": 0.6,
        "demand": 1.0,
        "market": 0.75,
        "cents": 500,
    }


def test_rules_buckets_are_three() -> None:
    assert [score_bucket(s) for s in (0.99, 0.75, 0.74, 0.5, 0.49, 0.0, None)] == [
        "A",
        "A",
        "B",
        "B",
        "C",
        "C",
        None,
    ]


def test_territory_buckets_are_top_20_next_50_bottom_30_percent() -> None:
    # Given 1,000 distinct scores in one metro
    scores = np.random.default_rng(7).random(1000)
    keys = [(float(s), 0.0, f"{i:04d}") for i, s in enumerate(scores)]
    cuts = territory_cuts(keys)
    buckets = [territory_bucket(k, cuts) for k in keys]
    # Then 20 % are High, 50 % Medium, 30 % Low
    assert (buckets.count("A"), buckets.count("B"), buckets.count("C")) == (200, 500, 300)


def test_tied_scores_are_ranked_by_raw_margin_then_public_id() -> None:
    # Given ten leads, half of them tied at the calibrated score 0.5 (their raw margins differ),
    # and two ("g" and "h") tied in score and margin, which only the public id tells apart
    keys = [
        (0.9, 2.0, "a"),
        (0.5, 1.0, "b"),
        (0.5, 0.8, "c"),
        (0.5, 0.4, "d"),
        (0.5, 0.2, "e"),
        (0.5, 0.1, "f"),
        (0.3, 0.0, "g"),
        (0.3, 0.0, "h"),
        (0.2, -1.5, "i"),
        (0.1, -2.0, "j"),
    ]
    # When the territory's cuts are taken and each lead bucketed
    cuts = territory_cuts(keys)
    buckets = {k[2]: territory_bucket(k, cuts) for k in keys}
    # Then the rank is a b c d e f h g i j: 2 High (a, and b: the tied lead with the largest
    # margin), 5 Medium (c d e f h), 3 Low (g i j), "h" above "g" by public id
    assert cuts == ((0.3, 0.0, "h"), (0.5, 1.0, "b"))
    assert [buckets[i] for i in "abcdefghij"] == list("AABBBBCBCC")


def test_a_territory_of_one_lead_is_medium_and_an_empty_one_has_no_cuts() -> None:
    assert territory_bucket((0.3, 0.0, "x"), territory_cuts([(0.3, 0.0, "x")])) == "B"
    with pytest.raises(ValueError, match="no scores"):
        territory_cuts([])


def test_cuts_stored_before_the_tie_break_still_bucket_by_score() -> None:
    # Given cuts stored as two bare scores, and cuts of another shape
    cuts = stored_cuts([0.4, 0.6])
    # Then a score at a cut is in the bucket above it, whatever its margin and id
    assert territory_bucket((0.6, -5.0, ""), cuts) == "A"
    assert territory_bucket((0.4, -5.0, ""), cuts) == "B"
    assert territory_bucket((0.39, 9.0, "z"), cuts) == "C"
    assert stored_cuts([[0.4, 0.1, "e"], [0.6, 1.0, "b"]]) == ((0.4, 0.1, "e"), (0.6, 1.0, "b"))
    with pytest.raises(ValueError, match="low, high"):
        stored_cuts([0.4])
    with pytest.raises(ValueError, match="score, margin, public id"):
        stored_cuts([[0.4, 0.1], 0.6])
