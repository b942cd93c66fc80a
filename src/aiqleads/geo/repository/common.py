"""What every geo query shares: the tables, the dialect test, and result rows as numpy columns.

Which leads a query may read, and where it may place them, is `leads.visibility`'s: every query
here starts from `visible_leads` or `market_leads`, and reads locations through `location`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.leads.visibility import leads, purchases

__all__ = [
    "H3_COLUMNS",
    "FloatArray",
    "IntArray",
    "floats",
    "ints",
    "is_postgis",
    "leads",
    "purchases",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
H3_COLUMNS = {7: "h3_r7", 8: "h3_r8", 9: "h3_r9"}


def is_postgis(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def floats(rows: Sequence[Any], i: int) -> FloatArray:
    # None (SQL NULL) becomes NaN: the algorithms treat NaN weights as unknown.
    return np.fromiter(
        (np.nan if r[i] is None else r[i] for r in rows), dtype=np.float64, count=len(rows)
    )


def ints(rows: Sequence[Any], i: int) -> IntArray:
    return np.fromiter((r[i] for r in rows), dtype=np.int64, count=len(rows))
