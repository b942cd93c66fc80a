"""Time split and leave-last-out on small histories worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from aiqleads.recommend.evaluation.data import Interactions
from aiqleads.recommend.evaluation.split import leave_last_out, time_split


def history(rows: list[tuple[int, int, float]]) -> Interactions:
    """(user, item, at) rows, all views."""
    user, item, at = zip(*rows, strict=True)
    return Interactions(
        np.array(user), np.array(item), np.zeros(len(rows), dtype=np.int8), np.array(at)
    )


def triples(x: Interactions) -> list[tuple[int, int, float]]:
    return list(zip(x.user.tolist(), x.item.tolist(), x.at.tolist(), strict=True))


def test_time_split_by_interaction_cuts_at_the_cutoff() -> None:
    # Given a user active before and after the cutoff 10
    x = history([(1, 10, 5.0), (1, 11, 10.0), (1, 12, 15.0), (2, 10, 20.0)])
    # When split at 10
    train, test = time_split(x, 10.0)
    # Then what came before trains and the rest (the cutoff included) tests
    assert triples(train) == [(1, 10, 5.0)]
    assert triples(test) == [(1, 11, 10.0), (1, 12, 15.0), (2, 10, 20.0)]


def test_time_split_by_user_never_cuts_a_history_in_two() -> None:
    # Given user 1 starting before the cutoff 10 and continuing after it, user 2 starting after
    x = history([(1, 10, 5.0), (1, 11, 6.0), (1, 12, 15.0), (2, 10, 11.0), (2, 13, 12.0)])
    # When split by user
    train, test = time_split(x, 10.0, by="user")
    # Then user 1 keeps only their early part in train, and user 2 is wholly in test
    assert triples(train) == [(1, 10, 5.0), (1, 11, 6.0)]
    assert triples(test) == [(2, 10, 11.0), (2, 13, 12.0)]
    # And with known_items and at least two interactions, user 2's unknown item 13 goes, and
    # with it user 2, left with one
    train, test = time_split(x, 10.0, by="user", min_interactions=2, known_items=True)
    assert len(train) == 2 and len(test) == 0


def test_leave_last_out_holds_out_each_users_latest_of_two_or_more_items() -> None:
    # Given user 1 with items 10, 11, 10 (latest: 10 again, at a tie with 11 broken by row
    # order), user 2 with one item twice, user 3 with two items
    x = history(
        [
            (1, 10, 1.0),
            (1, 11, 3.0),
            (1, 10, 3.0),
            (2, 20, 1.0),
            (2, 20, 2.0),
            (3, 31, 9.0),
            (3, 30, 1.0),
        ]
    )
    # When the last of each user is held out
    train, test = leave_last_out(x)
    # Then user 1's last row (item 10 at 3.0) and user 3's (item 31) test; user 2 (one
    # distinct item) stays whole in train, and so does user 1's earlier view of item 10
    assert triples(test) == [(1, 10, 3.0), (3, 31, 9.0)]
    assert triples(train) == [(1, 10, 1.0), (1, 11, 3.0), (2, 20, 1.0), (2, 20, 2.0), (3, 30, 1.0)]
    # And with min_items=1 user 2 is held out too
    assert len(leave_last_out(x, min_items=1)[1]) == 3


def test_bad_input_is_refused_with_a_reason() -> None:
    x = history([(1, 1, 1.0)])
    with pytest.raises(ValueError, match="by must be"):
        time_split(x, 1.0, by="session")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_interactions"):
        time_split(x, 1.0, min_interactions=0)
    with pytest.raises(ValueError, match="min_items"):
        leave_last_out(x, min_items=0)
    assert leave_last_out(Interactions.empty())[1].user.size == 0
