"""The pure parts: learned preferences, features, the ranker's artifact, diversification."""

from __future__ import annotations

import json
from pathlib import Path

import h3
import numpy as np
import pytest

from aiqleads.recommend.features import FEATURE_NAMES, LeadTable, feature_matrix
from aiqleads.recommend.profile import (
    HOLD,
    PURCHASE,
    VIEW,
    HistoryItem,
    PreferenceError,
    Preferences,
    Profile,
    learn,
    stated,
)
from aiqleads.recommend.ranker import ArtifactError, cold_start_scores, load, ndcg_at, train
from aiqleads.recommend.ranking import diversify, reason

DAY = 86_400.0


def _cell(lat: float, lon: float) -> tuple[int, int, float, float]:
    r8 = h3.latlng_to_cell(lat, lon, 8)
    clat, clon = h3.cell_to_latlng(r8)
    return int(h3.str_to_int(r8)), int(h3.str_to_int(h3.cell_to_parent(r8, 7))), clat, clon


def _table(points: list[tuple[float, float]], **cols: list[object]) -> LeadTable:
    n = len(points)
    cells = [_cell(*p) for p in points]

    def col(name: str, default: object) -> list[object]:
        return cols.get(name, [default] * n)

    return LeadTable(
        ids=np.arange(1, n + 1, dtype=np.int64),
        lat=np.asarray([c[2] for c in cells]),
        lon=np.asarray([c[3] for c in cells]),
        h3_r8=np.asarray([c[0] for c in cells], dtype=np.int64),
        h3_r7=np.asarray([c[1] for c in cells], dtype=np.int64),
        zip_code=np.asarray(col("zip_code", "98101"), dtype=object),
        kind=np.asarray(col("kind", "for_sale"), dtype=object),
        bedrooms=np.asarray(col("bedrooms", 3.0), dtype=np.float64),
        asking_price=np.asarray(col("asking_price", 50_000_000.0), dtype=np.float64),
        bucket=np.asarray(col("bucket", 0.5625), dtype=np.float64),
        published_at=np.asarray(col("published_at", 0.0), dtype=np.float64),
        demand=np.asarray(col("demand", 1.0), dtype=np.float64),
    )


def _item(kind: int, at: float, lead_id: int, zip_code: str, price: int) -> HistoryItem:
    r8, r7, lat, lon = _cell(47.68, -122.30)
    return HistoryItem(kind, at, lead_id, zip_code, r8, r7, lat, lon, price, "for_sale", 3)


def test_learning_weighs_purchases_over_views_and_ignores_the_future() -> None:
    # Given an agent who viewed leads in 98101 and bought in 98115, and one event after `now`
    history = [
        *(_item(VIEW, 1000.0 + i, i, "98101", 40_000_000) for i in range(4)),
        _item(HOLD, 2000.0, 10, "98115", 60_000_000),
        _item(PURCHASE, 3000.0, 10, "98115", 60_000_000),
        _item(PURCHASE, 9000.0, 11, "98118", 90_000_000),
    ]
    # When its preferences are learned at now = 5000
    learned = learn(history, 5000.0)
    # Then the purchase outweighs four views, the later event is not seen, and the bought
    # cell is a purchase point
    assert learned.events == 6
    assert list(learned.zip_shares) == ["98115", "98101"]
    assert "98118" not in learned.zip_shares and 11 not in learned.interacted
    assert learned.purchase_points.shape == (1, 2)
    assert learned.price_min_cents == 40_000_000 and learned.price_max_cents == 60_000_000
    assert learn([], 5000.0).events == 0


def test_stated_cells_expand_and_bad_ones_are_refused() -> None:
    r6 = h3.latlng_to_cell(47.6, -122.3, 6)
    prefs = stated(h3_cells=[r6])
    assert len(prefs.cells_r7) == 7 and not prefs.cells_r8
    with pytest.raises(PreferenceError, match="resolution 9"):
        stated(h3_cells=[h3.latlng_to_cell(47.6, -122.3, 9)])
    with pytest.raises(PreferenceError):
        stated(center=(47.6, -122.3))
    with pytest.raises(PreferenceError):
        stated(bedrooms_min=4, bedrooms_max=2)


def test_features_read_previews_and_match_the_stated_preferences() -> None:
    # Given two leads, one in the stated ZIP, kind and price range, one in none of them
    table = _table(
        [(47.68, -122.30), (47.55, -122.27)],
        zip_code=["98115", "98118"],
        kind=["fsbo", "for_rent"],
        asking_price=[50_000_000.0, 250_000.0],
        published_at=[DAY, 0.0],
    )
    profile = Profile(
        stated(
            zip_codes=["98115"],
            kinds=["fsbo"],
            price_min_cents=40_000_000,
            price_max_cents=60_000_000,
            center=(47.68, -122.30),
            radius_m=2000,
        ),
        learn([], 0.0),
    )
    # When the features are computed a day after the first was published
    X = feature_matrix(profile, table, 2 * DAY)
    f = {name: X[:, i] for i, name in enumerate(FEATURE_NAMES)}
    # Then the first matches each preference and the second none
    assert f["territory_zip"].tolist() == [1.0, 0.0]
    assert f["kind_match"].tolist() == [1.0, 0.0]
    assert f["price_gap"][0] == 0.0 and f["price_gap"][1] > 4
    assert f["territory_radius"][0] < 0.5 < 1 < f["territory_radius"][1]
    assert f["age_hours"].tolist() == [24.0, 48.0]
    assert np.isnan(f["learned_zip_share"]).all()  # a new agent has no behaviour
    assert cold_start_scores(X)[0] > cold_start_scores(X)[1]
    assert reason(X[0], table, 0).startswith("In your ZIP 98115; in your price range")


def test_diversify_keeps_at_most_max_per_cell_in_rank_order() -> None:
    cells = np.asarray([1, 1, 1, 2, 2, 3], dtype=np.int64)
    assert diversify([0, 1, 2, 3, 4, 5], cells, max_per_cell=2, limit=10) == [0, 1, 3, 4, 5]
    assert diversify([2, 1, 0, 5], cells, max_per_cell=1, limit=2) == [2, 5]


def test_the_ranker_learns_a_signal_and_its_artifact_round_trips(tmp_path: Path) -> None:
    # Given groups where the label follows the kind match
    rng = np.random.default_rng(0)
    groups = [20] * 60
    X = rng.random((sum(groups), len(FEATURE_NAMES)))
    y = (X[:, FEATURE_NAMES.index("kind_match")] * 4).astype(np.int64).clip(0, 3)
    # When a ranker is trained, saved and loaded
    ranker = train(X, y, groups, version="t1", trained_at="2026-11-30", training_window=None)
    loaded = load(ranker.save(tmp_path))
    # Then it ranks by the signal, better than the cold-start scorer, and loads identically
    assert ranker.meta.metrics["valid_ndcg@10"] > 0.95
    assert ndcg_at(loaded.score(X), y, groups) > ndcg_at(cold_start_scores(X), y, groups)
    assert np.allclose(loaded.score(X), ranker.score(X))


def test_an_artifact_with_other_features_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    X = rng.random((200, len(FEATURE_NAMES)))
    y = (X[:, 0] * 3).astype(np.int64)
    folder = train(X, y, [20] * 10, version="t2", trained_at="", training_window=None).save(
        tmp_path
    )
    meta = json.loads((folder / "meta.json").read_text())
    meta["feature_names"] = list(reversed(meta["feature_names"]))
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="differ"):
        load(folder)
    with pytest.raises(ArtifactError, match="needs"):
        load(tmp_path / "missing")


def test_a_stated_preference_wins_over_a_learned_one() -> None:
    learned = learn([_item(PURCHASE, 10.0, 1, "98115", 90_000_000)], 100.0)
    both = Profile(stated(price_min_cents=1, price_max_cents=2), learned)
    assert both.price_range == (1, 2)
    assert Profile(Preferences(), learned).price_range == (90_000_000, 90_000_000)
    assert both.zips == frozenset({"98115"})
