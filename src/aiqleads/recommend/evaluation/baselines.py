"""The recommender interface the evaluator drives, and the two baselines every model must beat.

- `PopularityRecommender`: the items most users interacted with in training, the same list for
  everyone (less what each has seen). Strong on skewed data and the usual first bar.
- `RandomRecommender`: items drawn uniformly from the catalogue: the floor, and the ceiling of
  catalogue coverage.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Protocol, runtime_checkable

import numpy as np

from aiqleads.recommend.evaluation.data import Interactions


@runtime_checkable
class Recommender(Protocol):
    """Anything the evaluator can score: trained once, then asked for each test user's list."""

    def fit(self, train: Interactions) -> None:
        """Learn from the training interactions."""
        ...

    def recommend(self, user: int, k: int, exclude: AbstractSet[int]) -> list[int]:
        """At most `k` distinct item ids for `user`, best first, none of them in `exclude`."""
        ...


def _check_k(k: int) -> None:
    if k < 0:
        raise ValueError(f"k must not be negative, not {k}")


class PopularityRecommender:
    """Ranks items by the number of distinct users who interacted with them in training (any
    kind, or only `kinds`), ties by the smaller item id, so the list is deterministic. Counting
    users rather than rows keeps one user's hundred views of an item from outweighing a
    hundred users."""

    def __init__(self, kinds: Iterable[int] | None = None) -> None:
        self._kinds = None if kinds is None else list(kinds)
        self._ranked: list[int] = []

    def fit(self, train: Interactions) -> None:
        rows = train if self._kinds is None else train.select(np.isin(train.kind, self._kinds))
        if len(rows) == 0:
            self._ranked = []
            return
        pairs = np.unique(np.stack([rows.item, rows.user], axis=1), axis=0)
        items, users = np.unique(pairs[:, 0], return_counts=True)
        # lexsort sorts by its last key first: most users, then smallest id.
        self._ranked = items[np.lexsort((items, -users))].tolist()

    @property
    def ranked(self) -> list[int]:
        """Every item seen in training, most popular first."""
        return list(self._ranked)

    def recommend(self, user: int, k: int, exclude: AbstractSet[int]) -> list[int]:
        _check_k(k)
        out: list[int] = []
        for item in self._ranked:
            if len(out) == k:
                break
            if item not in exclude:
                out.append(item)
        return out


class RandomRecommender:
    """`k` distinct items drawn uniformly from `items` (the catalogue), leaving out `exclude`.
    Each user's draw comes from a generator seeded with (seed, user), so a user's list does not
    depend on which users were asked before. ValueError for an empty catalogue."""

    def __init__(self, items: Iterable[int], seed: int) -> None:
        self._items = np.unique(np.fromiter(items, dtype=np.int64))
        if self._items.size == 0:
            raise ValueError("the random recommender needs at least one item")
        self._seed = seed

    def fit(self, train: Interactions) -> None:
        """Nothing to learn: the catalogue was given."""

    def recommend(self, user: int, k: int, exclude: AbstractSet[int]) -> list[int]:
        _check_k(k)
        n = self._items.size
        rng = np.random.default_rng([self._seed, user & 0xFFFFFFFFFFFFFFFF])
        # Drawing k + |exclude| without replacement leaves at least k allowed items whenever
        # the catalogue has them, in one draw whose cost grows with k, not with the catalogue.
        size = min(n, k + len(exclude))
        drawn = self._items[rng.choice(n, size=size, replace=False)].tolist()
        return [item for item in drawn if item not in exclude][:k]
