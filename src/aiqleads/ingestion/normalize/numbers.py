"""Reading a number out of a source value: 1149000, 1149000.0, "1,149,000", "3br", "1.5"."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank

# The first number in the text, thousands separators allowed: "$1,149,000.50" → "1,149,000.50".
_FIRST_NUMBER_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+")
_MINUS_BEFORE_RE = re.compile(r"[-−]\s*\$?\s*$")


def leading_decimal(raw: Any, field: str) -> tuple[Decimal, str] | Reason:
    """The first number in a value and the lower-cased text after it, or a reason.

    Booleans are rejected (True is an int in Python but never a count); NaN and infinities too.
    """
    if is_blank(raw):
        return Reason(f"{field}_missing", "")
    if isinstance(raw, bool):
        return Reason(f"{field}_unparseable", clip(raw))
    if isinstance(raw, int):
        return Decimal(raw), ""
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return Reason(f"{field}_unparseable", clip(raw))
        return Decimal(repr(raw)), ""
    if not isinstance(raw, str):
        return Reason(f"{field}_unparseable", clip(raw))
    text = raw.strip().lower()
    match = _FIRST_NUMBER_RE.search(text)
    if match is None:
        return Reason(f"{field}_unparseable", clip(raw))
    before = text[: match.start()]
    if _MINUS_BEFORE_RE.search(before):
        return Reason(f"{field}_negative", clip(raw))
    try:
        value = Decimal(match.group().replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only matches valid decimals
        return Reason(f"{field}_unparseable", clip(raw))
    return value, text[match.end() :].strip()
