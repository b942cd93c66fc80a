"""Prices → integer cents (DESIGN §2: money is integer cents plus a currency; we ingest USD)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiqleads.ingestion.normalize.numbers import leading_decimal
from aiqleads.ingestion.normalize.reasons import Reason, clip

# Above this a price is a typo or a placeholder (the dearest US home sales are ~$250M).
MAX_PRICE_CENTS = 500_000_000 * 100
# Below this a price is a placeholder ("$1", "$0 call me"), not an asking price or a rent.
MIN_PRICE_CENTS = 10 * 100
_MULTIPLIERS = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "mm": 1_000_000,
                "million": 1_000_000, "b": 1_000_000_000, "billion": 1_000_000_000}  # fmt: skip
_MULTIPLIER_RE = re.compile(r"^(k|thousand|mm|m|million|b|billion)\b")
_PERIOD_RE = re.compile(r"(?:/|\bper\b|\ba\b)\s*(mo|month|wk|week|day|night|yr|year)")
_PERIODS = {"mo": "month", "month": "month", "wk": "week", "week": "week", "day": "day",
            "night": "day", "yr": "year", "year": "year"}  # fmt: skip
_FOREIGN = ("€", "£", "¥", "eur", "gbp", "cad", "c$", "aud", "a$", "mxn")


@dataclass(frozen=True, slots=True)
class Price:
    cents: int
    period: str | None = None  # "month" for "$2,150/mo": a rent, not a sale price


def parse_price(raw: Any) -> Price | Reason:
    """ "$1,149,000", "1300", 1149000.0, "1.23E+06", "$2,150/mo", "$1.2M" → Price, in cents.

    Anything else is a reason: the reader's (`numbers.leading_decimal`: price_missing,
    price_unparseable, price_negative, price_out_of_range) or this function's own: price_currency
    (not dollars), price_range ("$1,200 - $1,500"), price_placeholder (under $10: "$0", "$1",
    "call for price") and price_absurd (over $500M).
    """
    if isinstance(raw, str) and any(mark in raw.lower() for mark in _FOREIGN):
        return Reason("price_currency", clip(raw))
    read = leading_decimal(raw, "price")
    if isinstance(read, Reason):
        return read
    value, rest = read
    if value < 0:
        return Reason("price_negative", clip(raw))
    multiplier = _MULTIPLIER_RE.match(rest)
    if multiplier is not None:
        value *= _MULTIPLIERS[multiplier.group(1)]
    if rest[:1] == "-" or " to " in f" {rest} " or rest.startswith("–"):
        return Reason("price_range", clip(raw))
    period_match = _PERIOD_RE.search(rest)
    period = _PERIODS[period_match.group(1)] if period_match else None
    cents = int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if cents < MIN_PRICE_CENTS:
        return Reason("price_placeholder", clip(raw))
    if cents > MAX_PRICE_CENTS:
        return Reason("price_absurd", clip(raw))
    return Price(cents, period)
