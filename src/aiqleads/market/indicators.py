"""Market indicators: pure functions of monthly series and lead facts, no database, no clock.

Every function returns a finite float for every input, empty ones included; the defaults for a
region with too little data are stated where they apply and gathered in `DEFAULTS`:

* a price trend needs two months with a price inside its window, else it is 0.0 (flat);
* volatility needs two monthly changes, else 0.0;
* a median of nothing is 0.0, a ratio with nothing to divide by is 0.0 (per lead, share sold)
  or, for the ratios whose denominator counts agents or sales, the denominator is floored at 1
  (listings per buying agent, months of supply): a market without buyers or sales has its whole
  inventory per buyer, its whole inventory as a month's supply;
* the sale-to-list ratio is 1.0 (sold at the asking price) when no series gives one;
* a series with no value in the month asked for is read as of its latest month with a value at
  or before that month (never a later one: no look-ahead): its level is that month's value and
  its trends and volatility end with that month. The month read is given as `price_as_of`,
  `zhvi_as_of` and `zori_as_of`, written YYYYMM (202503.0 for March 2025), 0.0 when the series
  has no value at or before the month.

Units: prices in dollars; trends are the OLS slope of the natural log of the monthly median price
against the month number, that is the average monthly growth rate in log points (0.01 ≈ 1 % a
month); volatility is the population standard deviation of the monthly log changes; days are
days.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

# Sources whose leads are recorded sales, not listings: the listing date is the sale date and the
# asking price the price paid (the King County house sales, see sample_data/README.md).
SALE_RECORD_SOURCES = frozenset({"king_county_sales"})
ON_MARKET = frozenset({"available", "held"})
SOLD = "sold"
TREND_WINDOWS = (3, 6, 12)
VOLATILITY_WINDOW = 12
# Months of sales averaged for the months of supply (Redfin's definition uses the last month;
# three smooth the small counts of a single ZIP).
SUPPLY_SALES_MONTHS = 3

DEFAULTS: dict[str, float] = {
    "price_level": 0.0,
    "price_trend_3m": 0.0,
    "price_trend_6m": 0.0,
    "price_trend_12m": 0.0,
    "price_volatility_12m": 0.0,
    "price_months_12m": 0.0,
    "leads": 0.0,
    "inventory": 0.0,
    "buying_agents": 0.0,
    "listings_per_buying_agent": 0.0,
    "share_sold": 0.0,
    "views_per_lead": 0.0,
    "holds_per_lead": 0.0,
    "median_dom": 0.0,
    "sale_to_list": 1.0,
    "months_of_supply": 0.0,
    "zhvi_trend_12m": 0.0,
    "zori_trend_12m": 0.0,
    "price_as_of": 0.0,
    "zhvi_as_of": 0.0,
    "zori_as_of": 0.0,
}
CONTEXT_KEYS = tuple(DEFAULTS)
# The keys an agent sees only when the leads behind them number at least k (DESIGN.md section 2):
# everything computed from the leads and their events.
LEAD_DERIVED = frozenset(CONTEXT_KEYS) - {
    "sale_to_list",
    "zhvi_trend_12m",
    "zori_trend_12m",
    "zhvi_as_of",
    "zori_as_of",
}

Monthly = Mapping[date, float]


def month_number(month: date) -> int:
    """Months since year 0: consecutive calendar months differ by 1."""
    return month.year * 12 + month.month - 1


def add_months(month: date, n: int) -> date:
    k = month_number(month) + n
    return date(k // 12, k % 12 + 1, 1)


def window(series: Monthly, month: date, months: int) -> list[tuple[date, float]]:
    """The points of `series` in the `months` months ending with `month` (inclusive), oldest
    first; non-positive and non-finite values are left out (no logarithm)."""
    start = add_months(month, -(months - 1))
    return sorted(
        (m, v) for m, v in series.items() if start <= m <= month and v > 0 and math.isfinite(v)
    )


def ols_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """The least-squares slope of ys on xs: Σ(x−x̄)(y−ȳ) / Σ(x−x̄)². 0.0 with fewer than two
    points or when every x is the same."""
    n = len(xs)
    if n < 2 or n != len(ys):
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def price_trend(series: Monthly, month: date, months: int) -> float:
    """OLS slope of ln(price) per month over the `months` months ending with `month`; months
    without a value are gaps, not zeros. 0.0 with fewer than two months in the window."""
    points = window(series, month, months)
    return ols_slope([float(month_number(m)) for m, _ in points], [math.log(v) for _, v in points])


def volatility(series: Monthly, month: date, months: int = VOLATILITY_WINDOW) -> float:
    """Population standard deviation of ln(p_t / p_{t−1}) over consecutive calendar months of
    the window (a change across a missing month is not a monthly change). 0.0 with fewer than
    two changes."""
    points = dict(window(series, month, months))
    changes = [
        math.log(v / points[add_months(m, -1)])
        for m, v in points.items()
        if add_months(m, -1) in points
    ]
    return statistics.pstdev(changes) if len(changes) >= 2 else 0.0


def last_month(series: Monthly, month: date) -> date | None:
    """The latest month at or before `month` with a usable value (positive and finite, as
    `window` keeps), None when there is none."""
    found = [m for m, v in series.items() if m <= month and v > 0 and math.isfinite(v)]
    return max(found) if found else None


def yyyymm(month: date | None) -> float:
    """A month as the number YYYYMM (202503.0 for March 2025); 0.0 for None."""
    return float(month.year * 100 + month.month) if month is not None else 0.0


def latest(series: Monthly, month: date) -> float | None:
    """The value of the latest month at or before `month`, None when there is none."""
    before = [m for m in series if m <= month]
    return series[max(before)] if before else None


def median(values: Iterable[float]) -> float:
    """The median, 0.0 of nothing."""
    found = list(values)
    return float(statistics.median(found)) if found else 0.0


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, 0.0 when the denominator is 0."""
    return numerator / denominator if denominator else 0.0


@dataclass(frozen=True, slots=True)
class Fact:
    """One lead as the indicators see it (repository.LeadFact has the same fields)."""

    source: str
    kind: str
    status: str
    listed_at: datetime | None
    asking_price_cents: int | None
    price_period: str | None


@dataclass(frozen=True, slots=True)
class Cell:
    """One month of one lead-derived measure: its value and the number of leads behind it."""

    value: float
    leads: int


LeadSeries = dict[str, dict[date, Cell]]


def _is_rent(f: Fact) -> bool:
    return f.kind == "for_rent" or (f.price_period not in (None, "sale"))


def monthly_lead_series(facts: Iterable[Fact]) -> LeadSeries:
    """Monthly series from leads, by the month of their listing date (leads without one are
    left out): `new_listings` (leads listed), `median_asking_price` (dollars, leads priced for
    sale that are listings), `median_rent` (dollars a month, rentals), `median_sale_price` and
    `homes_sold` (the recorded sales of SALE_RECORD_SOURCES), `leads_sold` (leads sold on the
    marketplace). Each cell says how many leads it covers."""
    groups: dict[str, dict[date, list[float]]] = defaultdict(lambda: defaultdict(list))
    for f in facts:
        if f.listed_at is None:
            continue
        m = f.listed_at.date().replace(day=1)
        groups["new_listings"][m].append(1.0)
        if f.status == SOLD:
            groups["leads_sold"][m].append(1.0)
        price = f.asking_price_cents
        if price is None or price <= 0:
            if f.source in SALE_RECORD_SOURCES:
                groups["homes_sold"][m].append(1.0)
            continue
        dollars = price / 100
        if f.source in SALE_RECORD_SOURCES:
            groups["median_sale_price"][m].append(dollars)
            groups["homes_sold"][m].append(1.0)
        elif _is_rent(f):
            groups["median_rent"][m].append(dollars)
        else:
            groups["median_asking_price"][m].append(dollars)
    out: LeadSeries = {}
    for measure, months in groups.items():
        counted = measure in ("new_listings", "leads_sold", "homes_sold")
        out[measure] = {
            m: Cell(float(len(vs)) if counted else median(vs), len(vs))
            for m, vs in sorted(months.items())
        }
    return out


def values(series: Mapping[date, Cell], min_leads: int = 1) -> dict[date, float]:
    """The values of the months covering at least `min_leads` leads."""
    return {m: c.value for m, c in series.items() if c.leads >= min_leads}


@dataclass(frozen=True, slots=True)
class Activity:
    """What the region's leads and their events say now: facts, and the events of the trailing
    window (views, holds, distinct buying agents)."""

    facts: Sequence[Fact]
    views: int
    holds: int
    buying_agents: int
    now: datetime


def price_series(
    lead_series: LeadSeries, zhvi: Monthly, month: date, min_leads: int = 1
) -> dict[date, float]:
    """The price series trends are computed on: the first of the recorded sales' monthly
    median, the listings' median asking price and Zillow's home value index that has a value
    in the 12 months ending with `month`; when none has, the one whose latest value at or before
    `month` is the most recent (the first in that order on a tie); {} when none has a value at
    or before `month`."""
    candidates = [
        values(lead_series.get(measure, {}), min_leads)
        for measure in ("median_sale_price", "median_asking_price")
    ]
    candidates.append(dict(zhvi))
    for found in candidates:
        if window(found, month, VOLATILITY_WINDOW):
            return found
    dated = [(m, -i) for i, found in enumerate(candidates) if (m := last_month(found, month))]
    return candidates[-max(dated)[1]] if dated else {}


def context(
    *,
    month: date,
    activity: Activity,
    zhvi: Monthly,
    zori: Monthly,
    sale_to_list: Monthly,
    min_leads: int = 1,
) -> dict[str, float]:
    """Every indicator of CONTEXT_KEYS for one region and month (see the module docstring for
    units and defaults); lead-derived months covering fewer than `min_leads` leads are left
    out. Never NaN."""
    lead_series = monthly_lead_series(activity.facts)
    prices = price_series(lead_series, zhvi, month, min_leads)
    out = dict(DEFAULTS)
    # A series without a value in `month` is read as of its last month with one (no later).
    price_month = last_month(prices, month)
    at = price_month or month
    level = latest(prices, month)
    out["price_level"] = level if level is not None else 0.0
    for n in TREND_WINDOWS:
        out[f"price_trend_{n}m"] = price_trend(prices, at, n)
    out["price_volatility_12m"] = volatility(prices, at)
    out["price_months_12m"] = float(len(window(prices, at, VOLATILITY_WINDOW)))
    out["price_as_of"] = yyyymm(price_month)
    facts = activity.facts
    on_market = [f for f in facts if f.status in ON_MARKET]
    inventory = float(len(on_market))
    out["leads"] = float(len(facts))
    out["inventory"] = inventory
    out["buying_agents"] = float(activity.buying_agents)
    out["listings_per_buying_agent"] = inventory / max(activity.buying_agents, 1)
    out["share_sold"] = ratio(sum(f.status == SOLD for f in facts), len(facts))
    out["views_per_lead"] = ratio(activity.views, len(facts))
    out["holds_per_lead"] = ratio(activity.holds, len(facts))
    out["median_dom"] = median(
        max((activity.now - f.listed_at).total_seconds() / 86400, 0.0)
        for f in on_market
        if f.listed_at is not None
    )
    stl = latest(sale_to_list, month)
    out["sale_to_list"] = stl if stl is not None and stl > 0 else 1.0
    sales: dict[date, float] = defaultdict(float)
    for measure in ("homes_sold", "leads_sold"):
        for m, v in values(lead_series.get(measure, {}), min_leads).items():
            sales[m] += v
    recent = [sales.get(add_months(month, -i), 0.0) for i in range(SUPPLY_SALES_MONTHS)]
    out["months_of_supply"] = inventory / max(sum(recent) / SUPPLY_SALES_MONTHS, 1.0)
    for name, series in (("zhvi", zhvi), ("zori", zori)):
        series_month = last_month(series, month)
        out[f"{name}_trend_12m"] = price_trend(series, series_month or month, 12)
        out[f"{name}_as_of"] = yyyymm(series_month)
    return {k: (v if math.isfinite(v) else DEFAULTS[k]) for k, v in out.items()}
