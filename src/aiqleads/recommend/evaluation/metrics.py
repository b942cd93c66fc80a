"""Top-k accuracy of ranked recommendation lists, averaged over users.

Each metric takes `recs`, one ranked list of item ids per user (best first), `relevant`, the set
of items each user actually interacted with in the test period (same order of users), and the
cut-off `k`. Users whose relevant set is empty are left out of the average (recall and NDCG are
undefined for them; the runner never passes them). Definitions (binary relevance), as in
Järvelin & Kekäläinen (2002) for NDCG and the usual top-k forms elsewhere (e.g. Herlocker et al.
2004):

- precision@k = |top-k ∩ relevant| / k (a list shorter than k counts its empty slots as misses)
- recall@k    = |top-k ∩ relevant| / |relevant|
- hit rate@k  = 1 if top-k ∩ relevant is not empty, else 0
- NDCG@k      = DCG / IDCG with DCG = Σ over hits at 1-based rank r ≤ k of 1 / log2(r + 1),
  IDCG = Σ_{r=1}^{min(k, |relevant|)} 1 / log2(r + 1) (the DCG of a perfect list)
- catalogue coverage@k = |∪ top-k over users| / catalogue size

ValueError when `recs` and `relevant` differ in length, `k` < 1, a list repeats an item (a
repeated hit would count twice), or no user has a relevant item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet

import numpy as np

Recs = Sequence[Sequence[int]]
Relevant = Sequence[AbstractSet[int]]


def _discounts(k: int) -> list[float]:
    """1 / log2(r + 1) for r = 1..k."""
    return [float(d) for d in 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))]


def _top(recs: Sequence[int], k: int, user: int) -> Sequence[int]:
    top = recs[:k]
    if len(set(top)) != len(top):
        raise ValueError(f"the list of user {user} (0-based) repeats an item in its top {k}")
    return top


def _mean(
    recs: Recs,
    relevant: Relevant,
    k: int,
    score: Callable[[Sequence[int], AbstractSet[int]], float],
) -> float:
    if len(recs) != len(relevant):
        raise ValueError(
            f"recs and relevant must have one entry per user, not {len(recs)} and {len(relevant)}"
        )
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    total = 0.0
    users = 0
    for user, (ranked, wanted) in enumerate(zip(recs, relevant, strict=True)):
        top = _top(ranked, k, user)
        if not wanted:
            continue
        total += score(top, wanted)
        users += 1
    if users == 0:
        raise ValueError("no user has a relevant item to score against")
    return total / users


def precision_at_k(recs: Recs, relevant: Relevant, k: int) -> float:
    """Mean over users of |top-k ∩ relevant| / k (see the module docstring)."""
    return _mean(recs, relevant, k, lambda top, wanted: sum(i in wanted for i in top) / k)


def recall_at_k(recs: Recs, relevant: Relevant, k: int) -> float:
    """Mean over users of |top-k ∩ relevant| / |relevant|."""
    return _mean(recs, relevant, k, lambda top, wanted: sum(i in wanted for i in top) / len(wanted))


def hit_rate_at_k(recs: Recs, relevant: Relevant, k: int) -> float:
    """The share of users with at least one relevant item in their top k."""
    return _mean(recs, relevant, k, lambda top, wanted: float(any(i in wanted for i in top)))


def ndcg_at_k(recs: Recs, relevant: Relevant, k: int) -> float:
    """Mean over users of DCG@k / IDCG@k with binary gains and the log2(rank + 1) discount."""
    discount = _discounts(max(k, 1))

    def one(top: Sequence[int], wanted: AbstractSet[int]) -> float:
        dcg = sum(d for d, i in zip(discount, top, strict=False) if i in wanted)
        ideal = sum(discount[: min(k, len(wanted))])
        return dcg / ideal

    return _mean(recs, relevant, k, one)


def catalogue_coverage(recs: Recs, catalogue_size: int, k: int) -> float:
    """The share of the catalogue's `catalogue_size` items that appear in some user's top k.
    ValueError when `catalogue_size` or `k` is below 1, or the lists show more distinct items
    than the catalogue holds."""
    if catalogue_size < 1:
        raise ValueError(f"catalogue_size must be at least 1, not {catalogue_size}")
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    shown: set[int] = set()
    for ranked in recs:
        shown.update(ranked[:k])
    if len(shown) > catalogue_size:
        raise ValueError(
            f"the lists show {len(shown)} distinct items, "
            f"more than the catalogue's {catalogue_size}"
        )
    return len(shown) / catalogue_size
