"""Phone numbers → E.164 with libphonenumber (`phonenumbers`), US by default.

Parsing costs about 40 µs, so answers are cached: agents' and offices' numbers repeat across
thousands of listings. Results are immutable strings or reasons, so caching them is safe.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberMatcher

from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank

DEFAULT_REGION = "US"
# Free text longer than this is not scanned: the matcher is linear but ~50 µs per short sentence.
_MAX_TEXT = 20_000
_DIGIT_RE = re.compile(r"\d")


@lru_cache(maxsize=65_536)
def _to_e164(raw: str, region: str) -> str | Reason:
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        return Reason("phone_unparseable", f"{clip(raw)} ({exc.error_type})")
    # The region check is one metadata lookup; is_valid_number first works out the region by
    # trying all 25 NANP regions (~150 µs for an invalid number), so it is the fallback only.
    if not (
        phonenumbers.is_valid_number_for_region(number, region)
        or phonenumbers.is_valid_number(number)
    ):
        return Reason("phone_invalid", clip(raw))
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def to_e164(raw: Any, region: str = DEFAULT_REGION) -> str | Reason:
    """One phone number as written ("(305) 467-6348", "305.467.6348 ext 2") → "+13054676348"."""
    if is_blank(raw):
        return Reason("phone_missing", "")
    if not isinstance(raw, str):
        return Reason("phone_unparseable", clip(raw))
    return _to_e164(raw.strip()[:100], region)


@lru_cache(maxsize=16_384)
def _phones_in_text(text: str, region: str) -> tuple[str, ...]:
    found: dict[str, None] = {}  # ordered set: first mention first, duplicates once
    for match in PhoneNumberMatcher(text, region):
        found[str(phonenumbers.format_number(match.number, PhoneNumberFormat.E164))] = None
    return tuple(found)


def phones_in_text(text: Any, region: str = DEFAULT_REGION) -> list[str]:
    """Every valid number in free text ("305.467.6348 / 786.484.0917"), E.164, in order."""
    if not isinstance(text, str) or len(_DIGIT_RE.findall(text[:_MAX_TEXT])) < 7:
        return []  # no number fits in fewer digits; skips the matcher for most descriptions
    return list(_phones_in_text(text[:_MAX_TEXT], region))


def first_phone(candidates: list[str], region: str = DEFAULT_REGION) -> str | Reason | None:
    """The first valid number among a record's phone strings, each of which may hold several.

    Returns None when there were no candidates, the first candidate's reason when none was valid.
    """
    first_reason: Reason | None = None
    for candidate in candidates:
        result = to_e164(candidate, region)
        if isinstance(result, str):
            return result
        found = phones_in_text(candidate, region)
        if found:
            return found[0]
        first_reason = first_reason or result
    return first_reason
