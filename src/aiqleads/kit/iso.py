"""Dates and times as parameters: ISO 8601 text only.

Pydantic also reads a bare number as a Unix time ("0" is 1970-01-01), which no caller means and
the API description does not say; these types refuse it with a reason instead.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_only(value: Any) -> Any:
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date or time (YYYY-MM-DD…), not a number")
    if isinstance(value, str) and not _ISO_START.match(value):
        raise ValueError("must be an ISO 8601 date or time, starting YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_only)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]
