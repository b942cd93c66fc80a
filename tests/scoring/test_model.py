"""The scoring model: calibrated on held-out predictions, saved and loaded as a versioned
artifact, refused when fed other features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from aiqleads.scoring import evaluation
from aiqleads.scoring.model import (
    ArtifactError,
    TrainConfig,
    cross_fit,
    load,
    out_of_fold,
    train,
)

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


def test_cross_fitted_calibration_matches_a_hand_computation() -> None:
    # Given eight out-of-fold probabilities in two folds (labels rise with p in fold 1 only)
    p = [0.1, 0.2, 0.3, 0.4, 0.15, 0.25, 0.35, 0.45]
    y = [0, 1, 0, 1, 0, 0, 1, 1]
    fold = [0, 0, 0, 0, 1, 1, 1, 1]
    # When each fold is calibrated by an isotonic fit on the other fold
    out = cross_fit("isotonic", p, y, fold)
    # Then fold 0 gets fold 1's fit (0 up to 0.25, 1 from 0.35, linear between) and fold 1
    # gets fold 0's (0.2 and 0.3 pooled at 0.5; 0 at 0.1, 1 at 0.4, linear between, flat beyond)
    assert out.tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0, 0.25, 0.5, 0.75, 1.0])
    # And the ECE (10 bins) is 2/8·0.5 + 1/8·0.25 + 2/8·0.5 + 1/8·0.25 + 0 = 0.3125
    assert evaluation.expected_calibration_error(y, out) == pytest.approx(0.3125)


def test_cross_fit_refuses_a_fold_whose_rest_has_one_class() -> None:
    with pytest.raises(ValueError, match="one class"):
        cross_fit("isotonic", [0.1, 0.2, 0.3], [0, 1, 1], [0, 1, 1])


def test_the_stored_calibration_error_is_measured_out_of_sample() -> None:
    # Given noisy synthetic leads (labels drawn from a logistic model, one noise feature)
    X, y = synthetic(1500, seed=4)
    # When a model is trained with isotonic calibration
    model = train(X, y, NAMES, config=FAST, version="t-ece")
    stored = model.meta.metrics["oof_calibrated"]
    # Then its stored ECE is not the in-sample ~0 of the calibrator on its own fit rows
    in_sample = evaluation.expected_calibration_error(
        y, model.calibrator.apply(out_of_fold(X, y, FAST))
    )
    assert in_sample < 1e-9
    assert stored["ece"] > 0.005
    # And it describes the cross-fitted predictions the model keeps for comparisons
    assert model.oof is not None
    assert stored["ece"] == pytest.approx(evaluation.expected_calibration_error(y, model.oof))
