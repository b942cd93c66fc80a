"""The tier discount a buyer's price came from, as a bought lead's price factors show it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from aiqleads.leads.present import discount_of, price_for
from aiqleads.leads.schemas import MoneyOut


def _lead(list_cents: int, currency: str = "USD") -> SimpleNamespace:
    return SimpleNamespace(price_cents=list_cents, price_currency=currency)


@pytest.mark.parametrize("list_cents", [2000, 1999, 333, 101, 7, 125_049])
@pytest.mark.parametrize("percent", [0, 5, 10, 15, 25, 33, 50, 99])
def test_the_discount_is_read_back_from_the_price_it_made(list_cents: int, percent: int) -> None:
    lead = _lead(list_cents)
    found = discount_of(lead, price_for(lead, percent))
    # Small prices round several percentages to the same cent: any of them made the price.
    assert found is not None and price_for(lead, found) == price_for(lead, percent)


def test_a_list_price_changed_since_or_another_currency_reads_no_discount() -> None:
    assert discount_of(_lead(2100), MoneyOut(cents=1700, currency="USD")) is None
    assert discount_of(_lead(2000), MoneyOut(cents=1700, currency="EUR")) is None
    assert discount_of(_lead(0), MoneyOut(cents=0, currency="USD")) is None
    assert discount_of(_lead(2000), MoneyOut(cents=2500, currency="USD")) is None
