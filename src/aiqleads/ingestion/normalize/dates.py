"""When a listing was posted, as an aware UTC datetime (STYLE: datetimes are aware UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank

# Sources without a zone (CSV exports, Craigslist's "2022-08-05 12:59") are read as UTC: a few
# hours off is harmless for freshness, and guessing each metro's zone would be worse.
_FORMATS = ("%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%b %d, %Y", "%B %d, %Y")
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
# Clocks differ and sources stamp in their own zone: a day of slack before "in the future".
_FUTURE_SLACK = timedelta(days=1)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt)  # naive; made aware by the caller
        except ValueError:
            continue
    return None


def parse_listed_at(raw: Any, *, now: datetime) -> datetime | Reason:
    if is_blank(raw):
        return Reason("listed_at_missing", "")
    if isinstance(raw, datetime):
        value: datetime | None = raw
    elif isinstance(raw, str):
        value = _parse(raw.strip()[:64])
    else:
        value = None
    if value is None:
        return Reason("listed_at_unparseable", clip(raw))
    value = _aware(value)
    if value > _aware(now) + _FUTURE_SLACK:
        return Reason("listed_at_future", value.isoformat())
    if value < _EARLIEST:
        return Reason("listed_at_out_of_range", value.isoformat())
    return value
