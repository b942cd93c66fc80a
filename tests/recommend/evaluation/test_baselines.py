"""The popularity and random baselines."""

from __future__ import annotations

import numpy as np
import pytest

from aiqleads.recommend.evaluation.baselines import (
    PopularityRecommender,
    RandomRecommender,
    Recommender,
)
from aiqleads.recommend.evaluation.data import Interactions, Kind


def test_popularity_ranks_by_distinct_users_then_smaller_id() -> None:
    # Given item 5 seen by users 1 and 2, item 3 by user 1 three times, item 4 by user 3 and
    # item 9 bought by user 3
    x = Interactions(
        np.array([1, 2, 1, 1, 1, 3, 3]),
        np.array([5, 5, 3, 3, 3, 4, 9]),
        np.array([0, 0, 0, 0, 0, 0, Kind.PURCHASE]),
        np.arange(7.0),
    )
    model = PopularityRecommender()
    model.fit(x)
    # Then 5 (2 users) leads, and 3, 4, 9 (1 user each) follow by id
    assert model.ranked == [5, 3, 4, 9]
    # And a user's list skips what they are told to exclude
    assert model.recommend(1, 2, exclude={5, 3}) == [4, 9]
    assert model.recommend(1, 10, exclude=set()) == [5, 3, 4, 9]
    # And counting purchases only, 9 is the only popular item
    bought = PopularityRecommender(kinds=[Kind.PURCHASE])
    bought.fit(x)
    assert bought.recommend(1, 3, exclude=set()) == [9]
    assert isinstance(model, Recommender)


def test_random_draws_distinct_allowed_items_the_same_way_every_time() -> None:
    # Given a catalogue of 20 items
    model = RandomRecommender(range(100, 120), seed=7)
    model.fit(Interactions.empty())
    # When user 1 asks for 5, twice, and excludes 10 items
    exclude = set(range(100, 110))
    first = model.recommend(1, 5, exclude)
    # Then the lists agree, hold 5 distinct allowed items, and another user gets another list
    assert first == model.recommend(1, 5, exclude)
    assert len(set(first)) == 5 and not set(first) & exclude
    assert all(100 <= i < 120 for i in first)
    assert model.recommend(2, 5, exclude) != first
    # And asking for more than the allowed items gives them all
    assert sorted(model.recommend(1, 50, exclude)) == list(range(110, 120))


def test_bad_input_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        RandomRecommender([], seed=1)
    with pytest.raises(ValueError, match="negative"):
        PopularityRecommender().recommend(1, -1, set())
