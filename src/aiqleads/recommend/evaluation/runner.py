"""Score several recommenders on one split with the same users, cut-off and catalogue.

For each recommender: `fit(train)`, then for every test user with at least one relevant test
interaction, `recommend(user, k, exclude=the items the user has in train)` (a recommender is
not credited for re-showing what an agent already saw or bought), and the lists are scored by
`metrics` against the user's relevant test items.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass

from aiqleads.recommend.evaluation import metrics
from aiqleads.recommend.evaluation.baselines import Recommender
from aiqleads.recommend.evaluation.data import Interactions

METRICS = ("precision", "recall", "ndcg", "hit_rate", "coverage")


@dataclass(frozen=True, slots=True)
class Scores:
    """One recommender's figures at the report's k, each in [0, 1]."""

    precision: float
    recall: float
    ndcg: float
    hit_rate: float
    coverage: float


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    """`scores` per recommender name, over `users` test users, at cut-off `k`, with catalogue
    coverage relative to `catalogue_size` items."""

    k: int
    users: int
    catalogue_size: int
    scores: dict[str, Scores]

    def ratio(self, metric: str, name: str, baseline: str) -> float:
        """How many times `name`'s `metric` is `baseline`'s (inf when the baseline scored 0 and
        `name` did not; 1 when both are 0). KeyError for an unknown name or metric."""
        if metric not in METRICS:
            raise KeyError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
        ours = getattr(self.scores[name], metric)
        theirs = getattr(self.scores[baseline], metric)
        if theirs == 0:
            return 1.0 if ours == 0 else float("inf")
        return float(ours / theirs)

    def to_dict(self) -> dict[str, object]:
        return {
            "k": self.k,
            "users": self.users,
            "catalogue_size": self.catalogue_size,
            "scores": {name: asdict(s) for name, s in self.scores.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def evaluate(
    recommenders: Mapping[str, Recommender],
    train: Interactions,
    test: Interactions,
    k: int = 10,
    catalogue_size: int | None = None,
    *,
    relevant_kinds: Iterable[int] | None = None,
) -> EvaluationReport:
    """Fit and score each recommender (see the module docstring). A user's relevant items are
    their test items of `relevant_kinds` (every kind when None); `catalogue_size` defaults to
    the number of distinct items in train and test together. Users are taken in ascending id.

    ValueError when there are no recommenders, `k` < 1, no test user has a relevant item, or a
    recommender returns more than k items, repeats one, or returns an excluded one (it would
    otherwise be scored on a list it was not asked for)."""
    if not recommenders:
        raise ValueError("nothing to evaluate: no recommenders given")
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    relevant_by_user = test.items_by_user(relevant_kinds)
    if not relevant_by_user:
        raise ValueError("no test user has a relevant interaction")
    if catalogue_size is None:
        catalogue_size = len(set(train.items().tolist()) | set(test.items().tolist()))
    seen = train.items_by_user()
    users = sorted(relevant_by_user)
    relevant = [relevant_by_user[u] for u in users]
    empty: frozenset[int] = frozenset()
    scores: dict[str, Scores] = {}
    for name, recommender in recommenders.items():
        recommender.fit(train)
        lists = []
        for user in users:
            exclude = seen.get(user, empty)
            ranked = recommender.recommend(user, k, exclude)
            _check_list(name, user, ranked, k, exclude)
            lists.append(ranked)
        scores[name] = Scores(
            precision=metrics.precision_at_k(lists, relevant, k),
            recall=metrics.recall_at_k(lists, relevant, k),
            ndcg=metrics.ndcg_at_k(lists, relevant, k),
            hit_rate=metrics.hit_rate_at_k(lists, relevant, k),
            coverage=metrics.catalogue_coverage(lists, catalogue_size, k),
        )
    return EvaluationReport(k=k, users=len(users), catalogue_size=catalogue_size, scores=scores)


def _check_list(name: str, user: int, ranked: list[int], k: int, exclude: AbstractSet[int]) -> None:
    if len(ranked) > k:
        raise ValueError(f"{name} returned {len(ranked)} items for user {user}, more than k={k}")
    if len(set(ranked)) != len(ranked):
        raise ValueError(f"{name} repeated an item in the list of user {user}")
    if any(item in exclude for item in ranked):
        raise ValueError(f"{name} recommended to user {user} an item they were told to exclude")
