"""Evaluation metrics on numbers worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aiqleads.scoring import evaluation


def test_auc_counts_the_pairs_a_positive_wins() -> None:
    # Given 2 positives and 2 negatives: of the 4 pairs, the positives win 3 and tie none
    y = [1, 0, 1, 0]
    p = [0.9, 0.8, 0.3, 0.1]
    # Then the AUC is 3/4
    assert evaluation.auc(y, p) == pytest.approx(0.75)


def test_log_loss_is_the_mean_negative_log_likelihood() -> None:
    # Given p = 0.8 for a positive and 0.4 for a negative
    loss = evaluation.log_loss([1, 0], [0.8, 0.4])
    # Then the loss is -(ln 0.8 + ln 0.6) / 2
    assert loss == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    # And a confident miss costs a large finite amount, not infinity
    assert math.isfinite(evaluation.log_loss([1], [0.0]))


def test_ece_weighs_each_bins_gap_by_its_share() -> None:
    # Given four predictions of 0.15 (bin [0.1, 0.2)), one of them positive, and two of 0.95
    # (bin [0.9, 1.0]), both positive
    y = [1, 0, 0, 0, 1, 1]
    p = [0.15, 0.15, 0.15, 0.15, 0.95, 0.95]
    # Then ECE = 4/6 * |0.25 - 0.15| + 2/6 * |1.0 - 0.95|
    assert evaluation.expected_calibration_error(y, p) == pytest.approx(4 / 6 * 0.10 + 2 / 6 * 0.05)
    curve = evaluation.reliability_curve(y, p)
    assert len(curve) == 10
    assert (curve[1].count, curve[1].observed_rate, curve[9].count) == (4, 0.25, 2)
    assert curve[0].count == 0 and curve[0].observed_rate is None


def test_a_probability_of_one_falls_in_the_last_bin() -> None:
    curve = evaluation.reliability_curve([1], [1.0])
    assert curve[-1].count == 1


def test_bad_input_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="0 or 1"):
        evaluation.auc([2, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="within"):
        evaluation.log_loss([1, 0], [1.2, 0.2])
    with pytest.raises(ValueError, match="both classes"):
        evaluation.auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="need two"):
        evaluation.evaluate([1, 0], [0.1])


def test_compare_reports_the_models_gain_over_the_baseline() -> None:
    # Given a model that ranks perfectly and a baseline that ranks backwards
    y = [1, 1, 0, 0]
    report = evaluation.compare(y, [0.9, 0.8, 0.2, 0.1], [0.1, 0.2, 0.8, 0.9])
    # Then the AUC gain is 1.0 - 0.0, and the log loss gain positive
    assert report["model"]["auc"] == 1.0 and report["baseline"]["auc"] == 0.0
    assert report["gain"]["auc"] == 1.0
    assert report["gain"]["log_loss"] > 0


def test_the_reliability_plot_is_a_png(tmp_path: Path) -> None:
    out = evaluation.reliability_plot(
        {"model": ([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.4])}, tmp_path / "r.png"
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
