"""Legend numbers and quantile classes for choropleth layers."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray


def quantile_breaks(values: ArrayLike, k: int = 5) -> list[float]:
    """Upper bounds of ``k`` quantile classes, duplicates removed (so fewer when values repeat).

    The last break is the maximum. Empty input gives no breaks.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return []
    qs = np.quantile(v, np.arange(1, k + 1) / k, method="inverted_cdf")
    return [float(b) for b in np.unique(qs)]


def quantile_classes(values: ArrayLike, breaks: list[float]) -> NDArray[np.int64]:
    """Class 0, 1, … of each value: the first break it does not exceed (-1 for NaN).

    Equal values always fall in the same class, which keeps classes stable when many regions
    share a value such as 0.
    """
    v = np.asarray(values, dtype=np.float64)
    cls = np.searchsorted(np.asarray(breaks, dtype=np.float64), v, side="left").astype(np.int64)
    cls[~np.isfinite(v)] = -1
    return np.minimum(cls, max(len(breaks) - 1, 0))


def legend(values: ArrayLike, k: int = 5) -> dict[str, Any]:
    """min, max, total, count and quantile breaks of the finite values."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"min": None, "max": None, "total": 0.0, "count": 0, "breaks": []}
    return {
        "min": float(v.min()),
        "max": float(v.max()),
        "total": float(v.sum()),
        "count": int(v.size),
        "breaks": quantile_breaks(v, k),
    }
