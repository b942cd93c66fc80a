"""Training and test parts of an interaction history.

- `time_split`: what happened before a cutoff trains, what happened after it tests: the
  honest split for a recommender that will serve the future (no test interaction informs the
  training). Two forms, by interaction (the default) or by user, the latter as the OTTO
  recommender data set's `train_test_split` (otto-de/recsys-dataset, `src/testset.py`).
- `leave_last_out`: each user's last interaction tests, the rest trains (the usual protocol
  of top-k evaluation on sparse public data, e.g. He et al. 2017, "Neural Collaborative
  Filtering").
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from aiqleads.recommend.evaluation.data import Interactions


def _per_user_count(users: NDArray[np.int64], mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """For each row, how many rows of its user are in `mask`."""
    _, inverse = np.unique(users, return_inverse=True)
    counts = np.bincount(inverse[mask], minlength=int(inverse.max(initial=-1)) + 1)
    return counts[inverse]


def time_split(
    interactions: Interactions,
    cutoff: float,
    *,
    by: Literal["interaction", "user"] = "interaction",
    min_interactions: int = 1,
    known_items: bool = False,
) -> tuple[Interactions, Interactions]:
    """(train, test) of `interactions` at `cutoff` (epoch seconds).

    - by="interaction": train holds the interactions at < cutoff, test those at >= cutoff.
    - by="user": a user whose first interaction is after the cutoff (> cutoff) goes wholly to
      test; every other user keeps their interactions at < cutoff in train and loses the rest
      (a user's history is never cut in two across the parts).

    Then a user with fewer than `min_interactions` interactions in train is dropped from train;
    with `known_items`, test interactions on items absent from (that) train are dropped; then a
    user with fewer than `min_interactions` in test is dropped from test. OTTO's split is
    `time_split(x, max_at - days * 86400, by="user", min_interactions=2, known_items=True)`.
    Both parts keep the input's row order. ValueError for an unknown `by` or
    `min_interactions` < 1."""
    if by not in ("interaction", "user"):
        raise ValueError(f"by must be 'interaction' or 'user', not {by!r}")
    if min_interactions < 1:
        raise ValueError(f"min_interactions must be at least 1, not {min_interactions}")
    before = interactions.at < cutoff
    if by == "interaction":
        train_mask = before
        test_mask = ~before
    else:
        users, inverse = np.unique(interactions.user, return_inverse=True)
        first = np.full(len(users), np.inf)
        np.minimum.at(first, inverse, interactions.at)
        late_user = (first > cutoff)[inverse]
        train_mask = ~late_user & before
        test_mask = late_user
    if min_interactions > 1:
        train_mask &= _per_user_count(interactions.user, train_mask) >= min_interactions
    if known_items:
        test_mask &= np.isin(interactions.item, interactions.item[train_mask])
    if min_interactions > 1:
        test_mask &= _per_user_count(interactions.user, test_mask) >= min_interactions
    return interactions.select(train_mask), interactions.select(test_mask)


def leave_last_out(
    interactions: Interactions, *, min_items: int = 2
) -> tuple[Interactions, Interactions]:
    """(train, test): for each user with at least `min_items` distinct items, their last
    interaction (greatest `at`; of equal times, the later row) is the test part; every other
    interaction, of every user, trains. An earlier interaction with the held-out item stays in
    train (so a recommender that excludes seen items cannot recover it: the figure stays
    honest about repeat visits). Test rows come in order of user id. ValueError for
    `min_items` < 1."""
    if min_items < 1:
        raise ValueError(f"min_items must be at least 1, not {min_items}")
    n = len(interactions)
    if n == 0:
        return interactions, interactions
    # Order rows by user, then time, then row number: each user's last row ends their run.
    rows = np.arange(n)
    order = np.lexsort((rows, interactions.at, interactions.user))
    users = interactions.user[order]
    last_of_user = np.ones(n, dtype=bool)
    last_of_user[:-1] = users[1:] != users[:-1]
    pairs = np.unique(np.stack([interactions.user, interactions.item], axis=1), axis=0)
    eligible_users, distinct = np.unique(pairs[:, 0], return_counts=True)
    eligible = eligible_users[distinct >= min_items]
    held = order[last_of_user & np.isin(users, eligible)]
    test_mask = np.zeros(n, dtype=bool)
    test_mask[held] = True
    return interactions.select(~test_mask), interactions.select(held)
