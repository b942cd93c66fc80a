"""The evaluator checked on real interaction data (tests/fixtures/recommend/README.md): its
figures on the Inside Airbnb reviews, and its time split of OTTO's sessions against OTTO's own
test of its split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiqleads.recommend.evaluation.baselines import PopularityRecommender, RandomRecommender
from aiqleads.recommend.evaluation.data import Kind
from aiqleads.recommend.evaluation.datasets import load_airbnb_reviews, load_otto_sessions
from aiqleads.recommend.evaluation.runner import evaluate
from aiqleads.recommend.evaluation.split import leave_last_out, time_split
from tests.shared_data import fixture_path


def test_popularity_on_the_airbnb_reviews_with_leave_last_out() -> None:
    # Given the 76,594 reviews, as purchases in (date, id) order
    reviews = load_airbnb_reviews(fixture_path("recommend", "trane_airbnb_reviews.csv.gz"))
    assert len(reviews) == 76_594
    assert (len(reviews.users()), len(reviews.items())) == (74_756, 1_062)
    # When each reviewer with two or more distinct listings has their latest review held out
    train, test = leave_last_out(reviews)
    assert len(test) == 540 and len(train) == 76_594 - 540
    # And the popularity baseline (listings seen in training excluded) is scored at 10
    report = evaluate(
        {"popularity": PopularityRecommender(), "random": RandomRecommender(reviews.items(), 1)},
        train,
        test,
        k=10,
    )
    # Then it gives the reference figures to 4 decimals
    popularity = report.scores["popularity"]
    assert report.users == 540
    assert round(popularity.hit_rate, 4) == 0.1407
    assert round(popularity.ndcg, 4) == 0.0662
    assert round(popularity.precision, 5) == 0.01407
    # And with one held-out listing per reviewer, recall is the hit rate
    assert popularity.recall == pytest.approx(popularity.hit_rate)
    # And random choice over 1,062 listings does far worse
    assert report.scores["random"].hit_rate < popularity.hit_rate / 2


def test_otto_sessions_split_as_otto_splits_them() -> None:
    # Given OTTO's 20 test sessions and its test's parameters (otto-de/recsys-dataset,
    # test/test_testset.py::test_train_test_split)
    sessions = load_otto_sessions(
        fixture_path("recommend", "otto_recsys_test_resources_train.jsonl")
    )
    assert (len(sessions), len(sessions.users())) == (862, 20)
    assert np.bincount(sessions.kind).tolist() == [800, 52, 10]
    max_ts, test_days = 1661723994936, 7
    cutoff = (max_ts - test_days * 24 * 60 * 60 * 1000) / 1000
    # When they are split by session at the cutoff, keeping sessions of 2+ events and test
    # events on items known from training
    train, test = time_split(sessions, cutoff, by="user", min_interactions=2, known_items=True)
    # Then there are 10 training and 8 test sessions, as OTTO's test asserts
    assert len(train.users()) == 10
    assert len(test.users()) == 8
    # And every session kept has 2+ events, training is before the cutoff, test after, and
    # every test item is known from training
    for part in (train, test):
        assert np.unique(part.user, return_counts=True)[1].min() >= 2
    assert (train.at < cutoff).all() and (test.at > cutoff).all()
    assert set(test.item.tolist()) <= set(train.item.tolist())
    # And the test part can be scored (orders and carts are what a shop wants predicted)
    report = evaluate(
        {"popularity": PopularityRecommender()},
        train,
        test,
        k=20,
        relevant_kinds=[Kind.VIEW, Kind.HOLD, Kind.PURCHASE],
    )
    assert report.users == 8


def test_a_malformed_row_is_refused_with_its_line(tmp_path: Path) -> None:
    bad_csv = tmp_path / "reviews.csv"
    bad_csv.write_text("listing_id,id,date,reviewer_id\n1,2,2021-01-01,x\n")
    with pytest.raises(ValueError, match="line 2: not a review row"):
        load_airbnb_reviews(bad_csv)
    bad_date = tmp_path / "dates.csv"
    bad_date.write_text("listing_id,id,date,reviewer_id\n1,2,01/01/2021,3\n")
    with pytest.raises(ValueError, match="not a YYYY-MM-DD date"):
        load_airbnb_reviews(bad_date)
    bad_jsonl = tmp_path / "sessions.jsonl"
    bad_jsonl.write_text('{"session": 1, "events": [{"aid": 2, "ts": 3, "type": "likes"}]}\n')
    with pytest.raises(ValueError, match="line 1: not an OTTO session"):
        load_otto_sessions(bad_jsonl)
