"""Top-k metrics on lists worked out by hand."""

from __future__ import annotations

import math

import pytest

from aiqleads.recommend.evaluation import metrics

# Given two users: the first has relevant items {1, 4} and gets [1, 2, 3, 4]; the second has
# {9} and gets [5, 6] (no hit, and a list shorter than k).
RECS = [[1, 2, 3, 4], [5, 6]]
RELEVANT = [{1, 4}, {9}]


def test_precision_divides_the_hits_by_k_even_for_a_short_list() -> None:
    # Then at k=3 the first user has 1 hit of 3 and the second 0 of 3
    assert metrics.precision_at_k(RECS, RELEVANT, 3) == pytest.approx((1 / 3 + 0) / 2)
    # And at k=4 the first has 2 of 4
    assert metrics.precision_at_k(RECS, RELEVANT, 4) == pytest.approx((2 / 4 + 0) / 2)


def test_recall_divides_the_hits_by_the_relevant_items() -> None:
    assert metrics.recall_at_k(RECS, RELEVANT, 3) == pytest.approx((1 / 2 + 0) / 2)
    assert metrics.recall_at_k(RECS, RELEVANT, 4) == pytest.approx((2 / 2 + 0) / 2)


def test_hit_rate_is_the_share_of_users_with_a_hit() -> None:
    assert metrics.hit_rate_at_k(RECS, RELEVANT, 1) == pytest.approx(0.5)
    assert metrics.hit_rate_at_k([[2, 1]], [{1}], 1) == 0.0


def test_ndcg_discounts_a_hit_by_log2_of_its_rank_plus_one() -> None:
    # Then at k=4 the first user's DCG is 1/log2(2) + 1/log2(5) and the ideal (two hits on
    # top) 1/log2(2) + 1/log2(3); the second user scores 0
    first = (1 + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert metrics.ndcg_at_k(RECS, RELEVANT, 4) == pytest.approx((first + 0) / 2)
    # And one relevant item at rank 3 of 10 scores 1/log2(4) = 0.5
    assert metrics.ndcg_at_k([[7, 8, 9]], [{9}], 10) == pytest.approx(0.5)
    # And a perfect list scores 1 even when there are more relevant items than k
    assert metrics.ndcg_at_k([[1, 2]], [{1, 2, 3}], 2) == pytest.approx(1.0)


def test_users_without_relevant_items_are_left_out_of_the_mean() -> None:
    assert metrics.hit_rate_at_k([[1], [2]], [{1}, set()], 1) == 1.0


def test_coverage_counts_the_distinct_items_shown_in_the_top_k() -> None:
    # Then the top 2 lists show {1, 2, 5, 6} of a catalogue of 8
    assert metrics.catalogue_coverage(RECS, 8, 2) == pytest.approx(4 / 8)
    assert metrics.catalogue_coverage(RECS, 8, 4) == pytest.approx(6 / 8)


def test_bad_input_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="one entry per user"):
        metrics.precision_at_k(RECS, RELEVANT[:1], 3)
    with pytest.raises(ValueError, match="at least 1"):
        metrics.recall_at_k(RECS, RELEVANT, 0)
    with pytest.raises(ValueError, match="repeats an item"):
        metrics.hit_rate_at_k([[1, 1]], [{1}], 2)
    with pytest.raises(ValueError, match="no user has a relevant item"):
        metrics.ndcg_at_k([[1]], [set()], 1)
    with pytest.raises(ValueError, match="catalogue_size"):
        metrics.catalogue_coverage(RECS, 0, 1)
    with pytest.raises(ValueError, match="more than the catalogue"):
        metrics.catalogue_coverage(RECS, 3, 4)
