"""Why a value or a record was not usable: a stable code for counting, a detail for humans."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Reason:
    code: str  # snake_case, stable: quarantine reports group by it
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


# Placeholders that sources (CSV exports, scraped pages) use for "no value".
_BLANKS = frozenset({"", "na", "n/a", "none", "null", "nan", "-", "--", "?"})
_LONGEST_BLANK = max(map(len, _BLANKS))


def is_blank(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, float):
        return math.isnan(raw)
    if isinstance(raw, str):
        text = raw.strip()
        # Every placeholder is short: a longer value is not lower-cased just to look it up.
        return not text or (len(text) <= _LONGEST_BLANK and text.lower() in _BLANKS)
    return False


def clip(raw: Any, limit: int = 60) -> str:
    """A short repr of a raw value for a reason's detail, so one huge field cannot bloat it."""
    if isinstance(raw, int) and raw.bit_length() > 256:
        # repr() of an int over 4,300 digits raises ValueError (CPython's int/str limit).
        digits = int(raw.bit_length() * math.log10(2))
        return f"<{'negative ' if raw < 0 else ''}integer of ~{digits} digits>"
    text = repr(raw)
    return text if len(text) <= limit else text[: limit - 1] + "…"
