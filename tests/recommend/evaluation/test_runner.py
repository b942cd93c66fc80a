"""The runner on a small split worked out by hand."""

from __future__ import annotations

import json
from collections.abc import Set as AbstractSet

import numpy as np
import pytest

from aiqleads.recommend.evaluation.baselines import PopularityRecommender
from aiqleads.recommend.evaluation.data import Interactions
from aiqleads.recommend.evaluation.runner import evaluate


def views(rows: list[tuple[int, int]]) -> Interactions:
    user, item = zip(*rows, strict=True)
    n = len(rows)
    return Interactions(
        np.array(user), np.array(item), np.zeros(n, dtype=np.int8), np.arange(float(n))
    )


class Fixed:
    """A recommender that gives every user the list it was built with, less what is excluded."""

    def __init__(self, ranked: list[int]) -> None:
        self.ranked = ranked
        self.fitted = False

    def fit(self, train: Interactions) -> None:
        self.fitted = True

    def recommend(self, user: int, k: int, exclude: AbstractSet[int]) -> list[int]:
        return [i for i in self.ranked if i not in exclude][:k]


class IgnoresTheRules(Fixed):
    """Gives its whole list, whatever k and exclude say."""

    def recommend(self, user: int, k: int, exclude: AbstractSet[int]) -> list[int]:
        return self.ranked


def test_evaluate_scores_each_recommender_on_the_same_users() -> None:
    # Given train: item 1 seen by users 1, 2, 3; item 2 by user 3; test: user 1 sees 2, user 2
    # sees 3, user 3 sees 1 again
    train = views([(1, 1), (2, 1), (3, 1), (3, 2)])
    test = views([(1, 2), (2, 3), (3, 1)])
    fixed = Fixed([3, 2, 1])
    # When popularity ([1, 2] less seen) and the fixed list are scored at k=1
    report = evaluate({"popularity": PopularityRecommender(), "fixed": fixed}, train, test, k=1)
    # Then popularity shows user 1 item 2 (hit), user 2 item 2 (miss), user 3 nothing (item 1
    # seen, item 2 seen): 1 hit in 3 users
    pop = report.scores["popularity"]
    assert report.users == 3 and report.catalogue_size == 3 and fixed.fitted
    assert pop.hit_rate == pytest.approx(1 / 3) and pop.precision == pytest.approx(1 / 3)
    assert pop.coverage == pytest.approx(1 / 3)
    # And the fixed list shows users 1 and 2 item 3 (user 2's hit) and user 3 nothing
    assert report.scores["fixed"].ndcg == pytest.approx(1 / 3)
    assert report.ratio("hit_rate", "fixed", "popularity") == pytest.approx(1.0)
    assert json.loads(report.to_json())["scores"]["popularity"]["recall"] == pytest.approx(1 / 3)


def test_a_recommender_that_breaks_the_contract_is_refused() -> None:
    train = views([(1, 1)])
    test = views([(1, 2)])
    with pytest.raises(ValueError, match="told to exclude"):
        evaluate({"cheat": IgnoresTheRules([1])}, train, test, k=1)
    with pytest.raises(ValueError, match="more than k=1"):
        evaluate({"long": IgnoresTheRules([2, 3])}, train, test, k=1)
    with pytest.raises(ValueError, match="repeated an item"):
        evaluate({"twice": IgnoresTheRules([2, 2])}, train, test, k=2)
    with pytest.raises(ValueError, match="no recommenders"):
        evaluate({}, train, test)
    with pytest.raises(ValueError, match="no test user"):
        evaluate({"p": PopularityRecommender()}, train, test, relevant_kinds=[2])
