"""What agents see of a lead's score: its bucket.

The exact score is for the buyer and admins. Everything an agent who has not bought a lead can
get (the preview, the price, sort orders, aggregates) is computed from the bucket alone.

Buckets are letters so that they sort: "A" is High, "B" Medium, "C" Low (the web app shows the
words). A lead scored by the learned model is bucketed within its territory (its metro) by rank:
High is the top 20 % of the metro's scores, Medium the next 50 %, Low the bottom 30 % (issue 10),
ties in the score broken by the model's raw margin and then the public id (`RankKey`), so the
shares hold when calibration ties many leads at one score.
The cut points come with the model's scoring run (`territory_cuts`); a lead scored before any
model exists, by the rules-1 heuristic, is bucketed by fixed thresholds on that score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

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


# A lead's rank key within its territory, compared as a tuple: its calibrated score (rounded as
# stored), then the model's raw margin (the booster's log-odds before calibration, which isotonic
# calibration flattens into ties: issue 10 found 6,188 demo leads sharing one score), then its
# public id as text (random, so the last resort favours no one and tells nothing).
RankKey = tuple[float, float, str]
# A cut no key reaches (scores are in [0, 1]): the upper cut of a territory too small for a
# High lead. Finite, so that it can be stored as JSON.
_ABOVE_ALL: RankKey = (2.0, 0.0, "")


def _count(share: float, n: int) -> int:
    return math.floor(share * n + 0.5)  # half up, by hand as on paper


def territory_cuts(keys: Sequence[RankKey]) -> tuple[RankKey, RankKey]:
    """(Low/Medium cut, Medium/High cut) of one territory's rank keys (`RankKey`): the key of
    its lowest Medium lead and of its lowest High lead when the keys are ranked best first, the
    top round(20 % · n) High, the bottom round(30 % · n) Low (halves up) and the rest Medium. A
    key at or above the upper cut is High; below the lower cut, Low (`territory_bucket`). The
    keys are distinct (the public id ends them), so the shares hold within rounding however many
    scores tie.

    Raises ValueError for an empty territory (it has no cuts; bucket with the metro-wide or the
    rules thresholds instead)."""
    if not keys:
        raise ValueError("a territory with no scores has no bucket cuts")
    ranked = sorted(keys, reverse=True)
    n = len(ranked)
    high_n = _count(TERRITORY_SHARES[0][1], n)
    low_n = _count(TERRITORY_SHARES[2][1], n)
    high = ranked[high_n - 1] if high_n else _ABOVE_ALL
    # n − low_n ≥ 1 for any n ≥ 1 (0.3 · n rounds to less than n), so a Medium or High lead exists
    low = ranked[n - low_n - 1]
    return low, high


def stored_cuts(value: Sequence[Any]) -> tuple[RankKey, RankKey]:
    """Cuts as `territory_cuts` gives them from their stored JSON form: [low, high], each
    [score, margin, public id], or a bare score (cuts stored before the tie-break: a bare score
    cut is below every key of that score, i.e. `score >= cut` as then).

    Raises ValueError for another shape."""
    if len(value) != 2:
        raise ValueError(f"bucket cuts must be [low, high], got {value!r}")

    def key(v: Any) -> RankKey:
        if isinstance(v, int | float):
            return (float(v), -math.inf, "")
        if isinstance(v, list | tuple) and len(v) == 3:
            return (float(v[0]), float(v[1]), str(v[2]))
        raise ValueError(f"a bucket cut must be a score or [score, margin, public id], got {v!r}")

    return key(value[0]), key(value[1])


def territory_bucket(key: RankKey, cuts: tuple[RankKey, RankKey]) -> str:
    """ "A", "B" or "C" for a lead's rank key against its territory's cuts (`territory_cuts`)."""
    low, high = cuts
    if key >= high:
        return "A"
    return "B" if key >= low else "C"
