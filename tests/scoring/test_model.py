"""The scoring model: calibrated on held-out predictions, saved and loaded as a versioned
artifact, refused when fed other features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from aiqleads.scoring import evaluation
from aiqleads.scoring.model import ArtifactError, TrainConfig, load, train

NAMES = ("a", "b", "noise")
FAST = TrainConfig(num_boost_round=80, num_threads=1)


def synthetic(n: int, seed: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Labels drawn from a known logistic model: logit = -1 + 1.5 a - 1.0 b (noise: 0)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    X[rng.random(n) < 0.05, 1] = np.nan  # some missing values, as LightGBM allows
    z = -1.0 + 1.5 * X[:, 0] - 1.0 * np.nan_to_num(X[:, 1])
    y = (rng.random(n) < evaluation.sigmoid(z)).astype(np.int64)
    return X, y


def test_the_artifact_round_trip_gives_the_same_predictions(tmp_path: Path) -> None:
    # Given a model trained on synthetic leads
    X, y = synthetic(1500, seed=1)
    model = train(X, y, NAMES, config=FAST, version="t-1", feature_set="test")
    # When it is saved and loaded with the same feature names
    path = model.save(tmp_path / "t-1")
    loaded = load(path, NAMES)
    # Then predictions, contributions and importance are the same
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert np.allclose(loaded.contributions(X), model.contributions(X))
    assert loaded.importance() == pytest.approx(model.importance())
    assert loaded.version == "t-1"
    # And the artifact holds no pickle: a text model and two JSON files
    assert sorted(p.name for p in path.iterdir()) == ["calibrator.json", "meta.json", "model.txt"]
    meta = json.loads((path / "meta.json").read_text())
    assert meta["feature_names"] == list(NAMES)
    assert set(meta["metrics"]) == {"oof_raw", "oof_calibrated"}


def test_a_mismatched_feature_list_is_refused(tmp_path: Path) -> None:
    X, y = synthetic(600, seed=2)
    path = train(X, y, NAMES, config=FAST, version="t-2").save(tmp_path / "t-2")
    with pytest.raises(ArtifactError, match=r"lacks \['c'\], has extra \['noise'\]"):
        load(path, ("a", "b", "c"))
    with pytest.raises(ArtifactError, match="another order"):
        load(path, ("b", "a", "noise"))
    with pytest.raises(ArtifactError, match=r"no model\.txt"):
        load(tmp_path, NAMES)
    (path / "model.txt").write_text("not a model")
    with pytest.raises(ArtifactError, match="not a LightGBM model"):
        load(path, NAMES)


def test_the_calibrated_probability_is_calibrated_on_a_holdout() -> None:
    # Given a model trained on 4000 leads, and 4000 others it never saw
    X, y = synthetic(4000, seed=3)
    X_new, y_new = synthetic(4000, seed=4)
    model = train(X, y, NAMES, config=FAST, version="t-3")
    # Then on the holdout its probabilities are calibrated within 0.03 (10 equal bins) and it
    # ranks well
    p = model.predict(X_new)
    assert evaluation.expected_calibration_error(y_new, p) < 0.03
    assert evaluation.auc(y_new, p) > 0.8
    # And Platt scaling is calibrated too
    platt = train(
        X, y, NAMES, config=TrainConfig(80, num_threads=1, calibration="platt"), version="p"
    )
    assert evaluation.expected_calibration_error(y_new, platt.predict(X_new)) < 0.03


def test_contributions_sum_to_the_log_odds_and_rank_the_features() -> None:
    X, y = synthetic(2000, seed=5)
    model = train(X, y, NAMES, config=FAST, version="t-4")
    contrib = model.contributions(X)
    assert contrib.shape == (2000, 4)
    raw = model.predict_raw(X)
    assert np.allclose(contrib.sum(axis=1), evaluation.logit(raw), atol=1e-4)
    gain = model.importance()
    assert gain["a"] > gain["b"] > gain["noise"]


def test_bad_training_input_is_refused() -> None:
    X, y = synthetic(100, seed=6)
    with pytest.raises(ValueError, match="names"):
        train(X, y, ("a", "b"), config=FAST, version="x")
    with pytest.raises(ValueError, match="0 and 1"):
        train(X, y * 2, NAMES, config=FAST, version="x")
    with pytest.raises(ValueError, match="each class"):
        train(X, np.zeros(100, dtype=np.int64), NAMES, config=FAST, version="x")
