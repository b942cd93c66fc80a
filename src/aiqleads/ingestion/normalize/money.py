"""Prices → integer cents (DESIGN §2: money is integer cents plus a currency; we ingest USD)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiqleads.ingestion.normalize.numbers import leading_decimal
from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank

# Above this a price is a typo or a placeholder (the dearest US home sales are ~$250M).
MAX_PRICE_CENTS = 500_000_000 * 100
# Below this a price is a placeholder ("$1", "$0 call me"), not an asking price or a rent.
MIN_PRICE_CENTS = 10 * 100
_MULTIPLIERS = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "mm": 1_000_000,
                "million": 1_000_000, "b": 1_000_000_000, "billion": 1_000_000_000}  # fmt: skip
_MULTIPLIER_RE = re.compile(r"^(k|thousand|mm|m|million|b|billion)\b")
_PERIOD_RE = re.compile(
    r"(?:/|\bper\b|\ba\b|\ban\b|\beach\b)\s*(mo|mth|month|wk|week|day|night|nite|yr|year)\b"
    r"|\b(monthly|weekly|nightly|daily|yearly|annually)\b"
)
# A period as sources write it → ours. "day" and "night" are both a nightly rate.
_PERIODS = {
    "mo": "month", "mth": "month", "mos": "month", "month": "month", "monthly": "month",
    "per month": "month", "pm": "month", "wk": "week", "wkly": "week", "week": "week",
    "weekly": "week", "per week": "week", "pw": "week", "day": "night", "daily": "night",
    "night": "night", "nightly": "night", "nite": "night", "per night": "night",
    "per day": "night", "yr": "year", "year": "year", "yearly": "year", "annual": "year",
    "annually": "year", "per year": "year",
}  # fmt: skip
PERIODS = ("sale", "month", "week", "night", "year")
# Weeks and years to months: a year is 52 weeks, or 12 months (the usual convention in rental
# listings, e.g. HUD's and Zillow's rent conversions: weekly × 52 / 12).
WEEKS_PER_YEAR = 52
MONTHS_PER_YEAR = 12
_FOREIGN = ("€", "£", "¥", "eur", "gbp", "cad", "c$", "aud", "a$", "mxn")
_CURRENCIES = {"$": "USD", "usd": "USD", "us$": "USD", "us dollars": "USD", "dollars": "USD",
               "cad": "CAD", "c$": "CAD", "ca$": "CAD", "can$": "CAD", "eur": "EUR", "€": "EUR",
               "gbp": "GBP", "£": "GBP", "aud": "AUD", "a$": "AUD", "mxn": "MXN",
               "jpy": "JPY", "¥": "JPY"}  # fmt: skip


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
    period = _PERIODS[period_match.group(period_match.lastindex or 1)] if period_match else None
    cents = int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if cents < MIN_PRICE_CENTS:
        return Reason("price_placeholder", clip(raw))
    if cents > MAX_PRICE_CENTS:
        return Reason("price_absurd", clip(raw))
    return Price(cents, period)


def normalize_period(raw: Any) -> str | Reason | None:
    """A source's period field ("weekly", "Monthly", "mo", "daily", "per night") → "month",
    "week", "night" or "year"; "sale" stays "sale"; None when blank; a reason when unknown."""
    if is_blank(raw):
        return None
    if not isinstance(raw, str):
        return Reason("price_period_unknown", clip(raw))
    key = " ".join(raw.lower().replace("/", " ").replace("-", " ").split())
    if key in ("sale", "for sale", "sold", "total", "one time", "once"):
        return "sale"
    found = _PERIODS.get(key) or _PERIODS.get(key.removeprefix("per ").strip())
    return found if found is not None else Reason("price_period_unknown", clip(raw))


def normalize_currency(raw: Any) -> str | Reason | None:
    """ "USD", "usd", "US$", "CAD", "C$", "€" → the ISO 4217 code; None when blank."""
    if is_blank(raw):
        return None
    if not isinstance(raw, str):
        return Reason("currency_unknown", clip(raw))
    text = raw.strip().lower()
    if len(text) == 3 and text.isalpha():
        return text.upper()
    return _CURRENCIES.get(text) or Reason("currency_unknown", clip(raw))


def currency_in(raw: Any) -> str | None:
    """The currency a price string names ("C$2,150", "2150 CAD", "€500,000"), if any."""
    if not isinstance(raw, str):
        return None
    text = raw.lower()
    for mark in ("ca$", "can$", "c$", "cad", "us$", "usd", "a$", "aud", "eur", "€", "gbp", "£",
                 "mxn", "jpy", "¥"):  # fmt: skip
        if mark in text:
            return _CURRENCIES[mark]
    return None


# "$421.00 per week", "$43/night", "$339 a week" (the amount, then its period) and "Weekly rates
# from $339", "nightly rate: $43" (the period, then the amount).
_AMOUNT = r"\$\s?(\d{1,3}(?:,\d{3})*(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)"
_AMOUNT_THEN_PERIOD_RE = re.compile(
    _AMOUNT + r"\s*(?:usd\s*)?(?:/|\bper\b|\ba\b|\ban\b|\beach\b)?\s*"
    r"(mo|mth|month|wk|week|day|night|nite|weekly|nightly|monthly)\b",
    re.IGNORECASE,
)
_PERIOD_THEN_AMOUNT_RE = re.compile(
    r"\b(weekly|nightly|daily|monthly)\b[^$\n]{0,40}?" + _AMOUNT, re.IGNORECASE
)


def period_in_text(text: Any, cents: int) -> str | None:
    """The period the text gives for this very amount, or None.

    Only an amount equal to the price (to the dollar) counts, so "Weekly rates from $339" says
    that a $339 price is weekly, while "deposit $500 a month before" says nothing about $1,250.
    """
    if not isinstance(text, str) or "$" not in text:
        return None
    text = text[:20_000]
    for match in _AMOUNT_THEN_PERIOD_RE.finditer(text):
        if _same_dollars(match.group(1), cents):
            return _PERIODS[match.group(2).lower()]
    for match in _PERIOD_THEN_AMOUNT_RE.finditer(text):
        if _same_dollars(match.group(2), cents):
            return _PERIODS[match.group(1).lower()]
    return None


def _same_dollars(amount: str, cents: int) -> bool:
    try:
        value = Decimal(amount.replace(",", ""))
    except ArithmeticError:  # pragma: no cover - the pattern only matches decimals
        return False
    return abs(value * 100 - cents) < 100


@dataclass(frozen=True, slots=True)
class Monthly:
    cents: int
    note: str | None  # the conversion, stated: "$339.00 a week × 52 / 12 = $1,469.00 a month"


def per_month(cents: int, period: str) -> Monthly:
    """A rent in its period → per month (rents are compared and priced per month). Weekly × 52
    / 12, yearly / 12, monthly as is. Raises ValueError for "sale" and "night" (a nightly rate
    is a short-term rental, not a rent to convert)."""
    if period == "month":
        return Monthly(cents, None)
    if period == "week":
        monthly = _round(Decimal(cents) * WEEKS_PER_YEAR / MONTHS_PER_YEAR)
        note = f"{_dollars(cents)} a week × {WEEKS_PER_YEAR} / {MONTHS_PER_YEAR}"
    elif period == "year":
        monthly = _round(Decimal(cents) / MONTHS_PER_YEAR)
        note = f"{_dollars(cents)} a year / {MONTHS_PER_YEAR}"
    else:
        raise ValueError(f"no monthly equivalent of a {period} price")
    return Monthly(monthly, f"{note} = {_dollars(monthly)} a month")


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _dollars(cents: int) -> str:
    return f"${cents / 100:,.2f}"
