"""Reading a number out of a source value: 1149000, 1149000.0, "1,149,000", "3br", "1.23E+06".

Scientific notation is how spreadsheets write numbers that do not fit a column: every King County
sale of $1M or more is "1.23E+06" in the Kaggle CSV. It is read whole, not as "1.23" followed by
text, and checked so that a malformed or absurd exponent gives a reason instead of a wrong value.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank

# The first number in the text, thousands separators allowed, then an optional exponent:
# "$1,149,000.50" → "1,149,000.50", "1.23e+06" → "1.23e+06". The text is lower-cased first.
_FIRST_NUMBER_RE = re.compile(
    r"(?P<mantissa>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+)(?:e(?P<exponent>[+-]?\d+))?"
)
_MINUS_BEFORE_RE = re.compile(r"[-−]\s*\$?\s*$")
# "1e+", "2e": an exponent marker with no digits, right after the number.
_DANGLING_EXPONENT_RE = re.compile(r"e[+-]?(?![a-z0-9])")
# "e5", "$e+5": an exponent with no number before it (the first number found would be its digits).
_BARE_EXPONENT_RE = re.compile(r"(?:^|[^a-z])e[+-]?$")
# The magnitudes any field read here can take, as decimal exponents: a price in dollars, a
# count, an area in square feet or acres, a year. Outside them the value is an abuse or a unit
# slip ("1e-9", "1e400"), and Decimal arithmetic on it would be slow or raise.
MIN_ADJUSTED_EXPONENT = -4  # 0.0001
MAX_ADJUSTED_EXPONENT = 15  # 9.99…e15
# More exponent digits than this cannot be in range; they are refused before Decimal sees them.
_MAX_EXPONENT_DIGITS = 4


def _in_range(value: Decimal) -> bool:
    return value.is_zero() or MIN_ADJUSTED_EXPONENT <= value.adjusted() <= MAX_ADJUSTED_EXPONENT


def _plain_decimal(text: str) -> bool:
    """ASCII digits, or digits "." digits: read as a whole by `_FIRST_NUMBER_RE` with nothing
    before or after, so the general path would give Decimal(text) and no rest either."""
    if not text.isascii():
        return False
    whole, dot, fraction = text.partition(".")
    return whole.isdigit() and (not dot or fraction.isdigit())


def leading_decimal(raw: Any, field: str) -> tuple[Decimal, str] | Reason:
    """The first number in a value and the lower-cased text after it, or a reason.

    Accepts ints, finite floats and strings such as "$1,149,000", "3br", "1.23E+06", "$1.2e6",
    " 1.0E+6 " and "1,230,000.0". Reasons, with `field` as the prefix of their code:
    `_missing` (blank), `_unparseable` (booleans, NaN, infinities, no number, an exponent marker
    without digits "1e+" or without a number "e5"), `_negative` (a minus sign before the number)
    and `_out_of_range` (a non-zero magnitude outside 1e-4 … 9.99e15, "1e-9", "1e400").
    """
    if is_blank(raw):
        return Reason(f"{field}_missing", "")
    if isinstance(raw, bool):
        return Reason(f"{field}_unparseable", clip(raw))
    if isinstance(raw, int):
        value = Decimal(raw)
        return (value, "") if _in_range(value) else Reason(f"{field}_out_of_range", clip(raw))
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return Reason(f"{field}_unparseable", clip(raw))
        value = Decimal(repr(raw))  # repr is the shortest text that reads back as this float
        return (value, "") if _in_range(value) else Reason(f"{field}_out_of_range", clip(raw))
    if not isinstance(raw, str):
        return Reason(f"{field}_unparseable", clip(raw))
    text = raw.strip().lower()
    if _plain_decimal(text):  # most cells ("3", "2.25", "1180"): the pattern would take it whole
        value = Decimal(text)
        return (value, "") if _in_range(value) else Reason(f"{field}_out_of_range", clip(raw))
    match = _FIRST_NUMBER_RE.search(text)
    if match is None:
        return Reason(f"{field}_unparseable", clip(raw))
    before, after = text[: match.start()], text[match.end() :]
    if _BARE_EXPONENT_RE.search(before) or (
        match["exponent"] is None and _DANGLING_EXPONENT_RE.match(after)
    ):
        return Reason(f"{field}_unparseable", clip(raw))
    if _MINUS_BEFORE_RE.search(before):
        return Reason(f"{field}_negative", clip(raw))
    exponent = match["exponent"]
    if exponent is not None and len(exponent.lstrip("+-").lstrip("0")) > _MAX_EXPONENT_DIGITS:
        return Reason(f"{field}_out_of_range", clip(raw))
    number = match["mantissa"].replace(",", "") + ("" if exponent is None else f"e{exponent}")
    try:
        value = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern only matches valid decimals
        return Reason(f"{field}_unparseable", clip(raw))
    if not _in_range(value):
        return Reason(f"{field}_out_of_range", clip(raw))
    return value, after.strip()
