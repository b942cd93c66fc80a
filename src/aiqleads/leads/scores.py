"""What agents see of a lead's score: its bucket.

The exact score is for the buyer and admins. Everything an agent who has not bought a lead can
get (the preview, the price, sort orders, aggregates) is computed from the bucket alone.

Buckets are letters so that they sort: "A" is High, "B" Medium, "C" Low (the web app shows the
words). A lead scored by the learned model is bucketed within its territory (its metro) by rank:
High is the top 20 % of the metro's scores, Medium the next 50 %, Low the bottom 30 % (issue 10).
The cut points come with the model's scoring run (`territory_cuts`); a lead scored before any
model exists, by the rules-1 heuristic, is bucketed by fixed thresholds on that score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# (lowest rules-1 score, label), best first: coarse on purpose.
BUCKETS: tuple[tuple[float, str], ...] = ((0.75, "A"), (0.5, "B"), (0.0, "C"))
BUCKET_LABELS: dict[str, str] = {"A": "High", "B": "Medium", "C": "Low"}
UNSCORED = "unscored"
# The share of a territory's leads in each bucket, best first (issue 10: 20 / 50 / 30 %).
TERRITORY_SHARES: tuple[tuple[str, float], ...] = (("A", 0.2), ("B", 0.5), ("C", 0.3))
# The number that stands for a bucket wherever one is needed (the mean-score map): about the
# middle of its band of territory percentile ranks (High 80–100, Medium 30–80, Low 0–30), as
# binary fractions, so that a sum of them is exact and a mean the same in any row order
# (0.9, 0.55 and 0.15 are not: the database's order would move the last digit).
BUCKET_MIDPOINT: dict[str, float] = {"A": 0.875, "B": 0.5625, "C": 0.125}


def score_bucket(score: float | None) -> str | None:
    """The rules-1 bucket: "A" for a score in [0.75, 1], "B" [0.5, 0.75), "C" below; None
    unscored."""
    if score is None:
        return None
    return next((label for floor, label in BUCKETS if score >= floor), "C")


def territory_cuts(scores: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """(Low/Medium cut, Medium/High cut) of one territory's scores: their 30th and 80th
    percentiles (linear interpolation, numpy's default). A score at or above the upper cut is
    High; below the lower cut, Low.

    Raises ValueError for an empty territory (it has no cuts; bucket with the metro-wide or the
    rules thresholds instead)."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        raise ValueError("a territory with no scores has no bucket cuts")
    low_share = TERRITORY_SHARES[2][1]
    high_share = TERRITORY_SHARES[0][1]
    low, high = np.quantile(values, [low_share, 1.0 - high_share])
    return float(low), float(high)


def territory_bucket(score: float, cuts: tuple[float, float]) -> str:
    """ "A", "B" or "C" for a score against its territory's cuts (`territory_cuts`)."""
    low, high = cuts
    if score >= high:
        return "A"
    return "B" if score >= low else "C"
