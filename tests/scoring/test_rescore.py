"""Rescoring's market signals: a trend read as of a month older than a year prices no growth."""

from __future__ import annotations

from datetime import date

import pytest

from aiqleads.market.indicators import DEFAULTS
from aiqleads.scoring import rescore

MONTH = date(2026, 12, 1)


def _ctx(price_as_of: float) -> dict[str, float]:
    return dict(DEFAULTS, price_trend_12m=0.02, price_as_of=price_as_of)


def test_prices_are_current_within_the_12_months_ending_with_the_month() -> None:
    assert rescore.prices_current(_ctx(202612.0), MONTH)
    assert rescore.prices_current(_ctx(202601.0), MONTH)
    assert not rescore.prices_current(_ctx(202512.0), MONTH)
    assert not rescore.prices_current(_ctx(0.0), MONTH)


def test_a_zip_whose_prices_are_not_current_gets_no_growth() -> None:
    # Given a ZIP whose 12-month trend is 2 % a month, read as of November 2021, and one current
    key: tuple[str, str | None] = ("zip", "98103")
    stale = {key: rescore._Market(_ctx(202111.0), current=False)}
    fresh = {key: rescore._Market(_ctx(202611.0), current=True)}
    # When its market signals are made
    _, old = rescore._signals(("seattle", "98103"), stale)
    _, new = rescore._signals(("seattle", "98103"), fresh)
    # Then the stale trend is no growth, the current one is the trend per year
    assert old.annual_growth == 0.0
    assert new.annual_growth == pytest.approx(0.24)
