"""Market indicators on hand-computed fixtures; a region with one sale, or none, gives the
documented defaults, never NaN."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from aiqleads.market.indicators import (
    CONTEXT_KEYS,
    DEFAULTS,
    Activity,
    Fact,
    context,
    monthly_lead_series,
    ols_slope,
    price_trend,
    volatility,
)

LN_1_1 = math.log(1.1)  # 0.0953101798…
NOW = datetime(2024, 4, 1, tzinfo=UTC)


def _m(month: int, year: int = 2024) -> date:
    return date(year, month, 1)


def _fact(
    *,
    listed: datetime | None,
    price: int | None = 50_000_000,
    status: str = "available",
    source: str = "test",
    kind: str = "for_sale",
    period: str | None = "sale",
) -> Fact:
    return Fact(source, kind, status, listed, price, period)


def test_ols_slope_by_hand() -> None:
    # y = 2x + 1 exactly; and (0,0), (1,0), (2,3): slope Σ(x−1)(y−1)/Σ(x−1)² = (1+2)/2 = 1.5
    assert ols_slope([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx(2.0)
    assert ols_slope([0, 1, 2], [0, 0, 3]) == pytest.approx(1.5)
    assert ols_slope([5], [1]) == 0.0
    assert ols_slope([2, 2], [1, 3]) == 0.0


def test_price_trend_is_the_slope_of_the_log_price_per_month() -> None:
    # Given 100, 100, 121 in January to March: ln prices 0, 0, ln 1.21 against months 0, 1, 2,
    # whose OLS slope is (ln 1.21 − 0) / 2 = ln 1.1
    series = {_m(1): 100.0, _m(2): 100.0, _m(3): 121.0}
    assert price_trend(series, _m(3), 3) == pytest.approx(LN_1_1)
    # A missing month is a gap, not a zero: January and March alone give the same slope
    assert price_trend({_m(1): 100.0, _m(3): 121.0}, _m(3), 3) == pytest.approx(LN_1_1)
    # The window ends with the month asked for: 3 months up to February hold 100, 100: flat
    assert price_trend(series, _m(2), 3) == 0.0
    # Months before the window do not count: a crash in 2023 leaves the 3-month trend alone
    assert price_trend({**series, _m(11, 2023): 1.0}, _m(3), 3) == pytest.approx(LN_1_1)
    # A growth of 10 % a month over 12 months gives ln 1.1 too
    steady = {_m(m): 100 * 1.1**m for m in range(1, 13)}
    assert price_trend(steady, _m(12), 12) == pytest.approx(LN_1_1)
    assert price_trend(steady, _m(12), 6) == pytest.approx(LN_1_1)


def test_volatility_is_the_spread_of_monthly_log_changes() -> None:
    # Given 100, 110, 99: changes ln 1.1 and ln 0.9, whose population standard deviation is
    # half their difference
    series = {_m(1): 100.0, _m(2): 110.0, _m(3): 99.0}
    expected = (math.log(1.1) - math.log(0.9)) / 2
    assert volatility(series, _m(3)) == pytest.approx(expected)
    # Steady growth has no volatility; one change is too few to measure
    assert volatility({_m(m): 100 * 1.1**m for m in range(1, 13)}, _m(12)) == pytest.approx(0)
    assert volatility({_m(1): 100.0, _m(2): 110.0}, _m(2)) == 0.0
    # A change across a missing month is no monthly change: Jan, Mar, Apr give one change only
    assert volatility({_m(1): 100.0, _m(3): 150.0, _m(4): 165.0}, _m(4)) == 0.0


def test_monthly_series_from_leads() -> None:
    # Given two recorded sales in January (400k, 600k), one in February (550k), a listing in
    # February at 700k, a rental at $2,000 a month, a sold lead, and a lead with no listing date
    jan, feb = datetime(2024, 1, 10, tzinfo=UTC), datetime(2024, 2, 3, tzinfo=UTC)
    kc = "king_county_sales"
    facts = [
        _fact(listed=jan, price=40_000_000, source=kc),
        _fact(listed=jan, price=60_000_000, source=kc),
        _fact(listed=feb, price=55_000_000, source=kc),
        _fact(listed=feb, price=70_000_000, status="sold"),
        _fact(listed=feb, price=200_000, kind="for_rent", period="month"),
        _fact(listed=None),
    ]
    # When the monthly series are computed
    series = monthly_lead_series(facts)
    # Then the medians and counts are by listing month, each with the leads it covers
    assert {m: (c.value, c.leads) for m, c in series["median_sale_price"].items()} == {
        _m(1): (500_000.0, 2),
        _m(2): (550_000.0, 1),
    }
    assert series["homes_sold"][_m(1)].value == 2.0
    assert series["median_asking_price"][_m(2)].value == 700_000.0
    assert series["median_rent"][_m(2)].value == 2_000.0
    assert series["leads_sold"][_m(2)].value == 1.0
    assert {m: c.value for m, c in series["new_listings"].items()} == {_m(1): 2.0, _m(2): 3.0}


def _context(
    facts: list[Fact], *, views: int = 0, holds: int = 0, buyers: int = 0, min_leads: int = 1
) -> dict[str, float]:
    activity = Activity(facts=facts, views=views, holds=holds, buying_agents=buyers, now=NOW)
    return context(
        month=_m(3), activity=activity, zhvi={}, zori={}, sale_to_list={}, min_leads=min_leads
    )


def test_a_region_without_data_gives_the_defaults() -> None:
    ctx = _context([])
    assert tuple(ctx) == CONTEXT_KEYS
    assert ctx == DEFAULTS
    assert ctx["sale_to_list"] == 1.0


def test_a_zip_with_one_sale_gives_defined_values() -> None:
    # Given a ZIP whose only lead is one recorded sale of $500,000 in March, still on the market
    sale = _fact(listed=datetime(2024, 3, 2, tzinfo=UTC), source="king_county_sales")
    # When its context is computed for March
    ctx = _context([sale])
    # Then every value is finite: the price is that sale, no trend, no volatility
    assert all(math.isfinite(v) for v in ctx.values())
    assert ctx["price_level"] == 500_000.0
    assert ctx["price_trend_3m"] == ctx["price_trend_12m"] == 0.0
    assert ctx["price_volatility_12m"] == 0.0
    assert ctx["price_months_12m"] == 1.0
    # One listing, no buying agent: the denominator is floored at one agent
    assert ctx["inventory"] == 1.0 and ctx["listings_per_buying_agent"] == 1.0
    # One sale in three months is under one a month: the whole inventory is a month's supply
    assert ctx["months_of_supply"] == 1.0
    # On the market for 30 days on April 1st (listed March 2nd)
    assert ctx["median_dom"] == pytest.approx(30.0)
    assert ctx["share_sold"] == 0.0 and ctx["views_per_lead"] == 0.0


def test_competition_demand_and_supply_by_hand() -> None:
    # Given 4 listings in the ZIP (3 on the market, 1 sold), 10 views, 2 holds, 2 buying agents
    listed = datetime(2024, 3, 1, tzinfo=UTC)
    facts = [_fact(listed=listed) for _ in range(3)] + [_fact(listed=listed, status="sold")]
    # When its context is computed
    ctx = _context(facts, views=10, holds=2, buyers=2)
    # Then
    assert ctx["inventory"] == 3.0
    assert ctx["listings_per_buying_agent"] == 1.5
    assert ctx["share_sold"] == 0.25
    assert ctx["views_per_lead"] == 2.5
    assert ctx["holds_per_lead"] == 0.5
    assert ctx["median_dom"] == pytest.approx(31.0)
    # One sale in the last three months: 1/3 a month, floored at 1: supply 3 / 1
    assert ctx["months_of_supply"] == 3.0
    # Prices: the listings' median asking price (no recorded sale)
    assert ctx["price_level"] == 500_000.0


def test_months_under_k_leads_are_left_out_of_the_trend() -> None:
    # Given 2 sales at 400k in January and 1 at 800k in March
    kc = "king_county_sales"
    facts = [
        _fact(listed=datetime(2024, 1, 5, tzinfo=UTC), price=40_000_000, source=kc),
        _fact(listed=datetime(2024, 1, 6, tzinfo=UTC), price=40_000_000, source=kc),
        _fact(listed=datetime(2024, 3, 5, tzinfo=UTC), price=80_000_000, source=kc),
    ]
    # With every month: the trend is ln 2 over 2 months; with k = 2 March is dropped
    assert _context(facts)["price_trend_3m"] == pytest.approx(math.log(2) / 2)
    assert _context(facts, min_leads=2)["price_trend_3m"] == 0.0
    assert _context(facts, min_leads=2)["price_level"] == 400_000.0


def test_published_series_fill_in_what_the_leads_lack() -> None:
    # Given no leads, a ZHVI growing 10 % a month and Redfin's sale-to-list ratio
    zhvi = {_m(m): 100 * 1.1**m for m in range(1, 4)}
    activity = Activity(facts=(), views=0, holds=0, buying_agents=0, now=NOW)
    ctx = context(month=_m(3), activity=activity, zhvi=zhvi, zori={}, sale_to_list={_m(2): 0.98})
    assert ctx["price_trend_3m"] == pytest.approx(LN_1_1)
    assert ctx["zhvi_trend_12m"] == pytest.approx(LN_1_1)
    assert ctx["price_level"] == pytest.approx(133.1)
    assert ctx["sale_to_list"] == 0.98


def test_a_series_ending_months_before_is_read_as_of_its_last_month() -> None:
    # Given recorded sales, a ZHVI and a ZORI growing 10 % a month from January to March 2024,
    # and a ZHVI value of July (after the month asked for)
    kc = "king_county_sales"
    facts = [
        _fact(listed=datetime(2024, m, 10, tzinfo=UTC), price=round(40_000_000 * 1.1**m), source=kc)
        for m in range(1, 4)
    ]
    zhvi = {_m(m): 100 * 1.1**m for m in range(1, 4)} | {_m(7): 1_000.0}
    zori = {_m(m): 10 * 1.1**m for m in range(1, 4)}
    activity = Activity(facts=facts, views=0, holds=0, buying_agents=0, now=NOW)
    # When the context is computed for June, three months after their last month
    ctx = context(month=_m(6), activity=activity, zhvi=zhvi, zori=zori, sale_to_list={})
    # Then each series gives its March values and says it is read as of March, not July's
    assert ctx["price_level"] == pytest.approx(400_000 * 1.1**3, abs=0.01)
    assert ctx["price_trend_3m"] == pytest.approx(LN_1_1)
    assert ctx["price_months_12m"] == 3.0
    assert ctx["zhvi_trend_12m"] == pytest.approx(LN_1_1)
    assert ctx["zori_trend_12m"] == pytest.approx(LN_1_1)
    assert ctx["price_as_of"] == ctx["zhvi_as_of"] == ctx["zori_as_of"] == 202403.0


def test_leads_older_than_a_year_give_way_to_a_newer_published_series() -> None:
    # Given recorded sales of 2015 only and a ZHVI ending in November 2021
    facts = [
        _fact(
            listed=datetime(2015, m, 10, tzinfo=UTC), price=40_000_000, source="king_county_sales"
        )
        for m in range(1, 4)
    ]
    zhvi = {date(2021, m, 1): 100 * 1.1**m for m in range(9, 12)}
    activity = Activity(facts=facts, views=0, holds=0, buying_agents=0, now=NOW)
    # When the context is computed for March 2024
    ctx = context(month=_m(3), activity=activity, zhvi=zhvi, zori={}, sale_to_list={})
    # Then prices are the ZHVI's, the most recent, as of November 2021; no ZORI at all
    assert ctx["price_level"] == pytest.approx(100 * 1.1**11)
    assert ctx["price_trend_3m"] == pytest.approx(LN_1_1)
    assert ctx["price_as_of"] == ctx["zhvi_as_of"] == 202111.0
    assert ctx["zori_as_of"] == 0.0 and ctx["zori_trend_12m"] == 0.0
