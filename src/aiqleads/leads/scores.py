"""What agents see of a lead's score: its bucket.

The exact score is for the buyer and admins. Everything an agent who has not bought a lead can
get (the preview, the price, sort orders, aggregates) is computed from the bucket alone.
"""

from __future__ import annotations

# (lowest score, label), best first: coarse on purpose.
BUCKETS: tuple[tuple[float, str], ...] = ((0.75, "A"), (0.5, "B"), (0.25, "C"), (0.0, "D"))
UNSCORED = "unscored"
# The score that stands for a bucket wherever a number is needed (prices, mean-score maps): the
# middle of its range.
BUCKET_MIDPOINT: dict[str, float] = {"A": 0.875, "B": 0.625, "C": 0.375, "D": 0.125}


def score_bucket(score: float | None) -> str | None:
    """ "A" for a score in [0.75, 1], "B" [0.5, 0.75), "C" [0.25, 0.5), "D" below; None unscored."""
    if score is None:
        return None
    return next((label for floor, label in BUCKETS if score >= floor), "D")
