"""How good a lead score is: ranking (AUC), probability quality (log loss) and calibration
(expected calibration error, reliability curve and plot), and the comparison of a model's
predictions with a baseline's on the same leads (the rule-based `leads.pricing.quality_score`).

Every function takes labels `y` (shape (n,), values 0 or 1) and probabilities `p` (shape (n,),
values in [0, 1]) and raises ValueError on anything else, so a wrong input is a reason, not a
quietly wrong number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

# Equal-width bins over [0, 1] for the ECE and the reliability curve: [0, 0.1), …, [0.9, 1.0].
ECE_BINS = 10
# Probabilities are clipped to [EPS, 1 - EPS] in the log loss, so a confident miss costs a
# large finite amount (about 34.5 nats) instead of infinity.
EPS = 1e-15


def check(y: ArrayLike, p: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The labels and probabilities as float arrays of one shape (n,), n >= 1.

    Raises ValueError: other shapes, labels other than 0 and 1, probabilities outside [0, 1] or
    not finite."""
    ya = np.asarray(y, dtype=np.float64)
    pa = np.asarray(p, dtype=np.float64)
    if ya.ndim != 1 or pa.shape != ya.shape or ya.size == 0:
        raise ValueError(f"labels {ya.shape} and probabilities {pa.shape}: need two (n,), n >= 1")
    if not np.isin(ya, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    if not np.isfinite(pa).all() or pa.min() < 0.0 or pa.max() > 1.0:
        raise ValueError("probabilities must be finite and within [0, 1]")
    return ya, pa


def auc(y: ArrayLike, p: ArrayLike) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative (ties count one half). Raises ValueError when only one class is present."""
    ya, pa = check(y, p)
    if ya.min() == ya.max():
        raise ValueError("AUC needs both classes among the labels")
    # Imported here: scikit-learn is ~25 MB that a process serving only the catalog never needs.
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(ya, pa))


def log_loss(y: ArrayLike, p: ArrayLike) -> float:
    """Mean negative log-likelihood in nats: -mean(y ln p + (1 - y) ln(1 - p)), p clipped to
    [EPS, 1 - EPS]."""
    ya, pa = check(y, p)
    pc = np.clip(pa, EPS, 1.0 - EPS)
    return float(-np.mean(ya * np.log(pc) + (1.0 - ya) * np.log1p(-pc)))


@dataclass(frozen=True, slots=True)
class Bin:
    """One bin of the reliability curve: probabilities in [lower, upper) (the last bin holds 1.0),
    how many, their mean, and the share of positives among them (None for an empty bin)."""

    lower: float
    upper: float
    count: int
    mean_predicted: float | None
    observed_rate: float | None


def reliability_curve(y: ArrayLike, p: ArrayLike, bins: int = ECE_BINS) -> list[Bin]:
    """The reliability curve on `bins` equal-width bins over [0, 1]."""
    ya, pa = check(y, p)
    if bins < 1:
        raise ValueError("bins must be at least 1")
    index = np.minimum((pa * bins).astype(np.int64), bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        n = int(mask.sum())
        out.append(
            Bin(
                lower=b / bins,
                upper=(b + 1) / bins,
                count=n,
                mean_predicted=float(pa[mask].mean()) if n else None,
                observed_rate=float(ya[mask].mean()) if n else None,
            )
        )
    return out


def expected_calibration_error(y: ArrayLike, p: ArrayLike, bins: int = ECE_BINS) -> float:
    """ECE = sum over bins of (n_b / n) * |observed rate_b - mean predicted_b|, on `bins`
    equal-width bins over [0, 1] (Naeini, Cooper and Hauskrecht, AAAI 2015; Guo et al.,
    ICML 2017, eq. 3). 0 is perfectly calibrated; the unit is probability."""
    curve = reliability_curve(y, p, bins)
    n = sum(b.count for b in curve)
    return float(
        sum(
            b.count / n * abs(b.observed_rate - b.mean_predicted)
            for b in curve
            if b.observed_rate is not None and b.mean_predicted is not None
        )
    )


@dataclass(frozen=True, slots=True)
class Metrics:
    """The evaluation of one set of predictions: n leads, positives among them, AUC (None when
    one class only), log loss (nats), ECE (10 equal-width bins)."""

    n: int
    positives: int
    auc: float | None
    log_loss: float
    ece: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(y: ArrayLike, p: ArrayLike) -> Metrics:
    """AUC, log loss and ECE of the predictions."""
    ya, pa = check(y, p)
    both = ya.min() != ya.max()
    return Metrics(
        n=int(ya.size),
        positives=int(ya.sum()),
        auc=auc(ya, pa) if both else None,
        log_loss=log_loss(ya, pa),
        ece=expected_calibration_error(ya, pa),
    )


def compare(y: ArrayLike, model: ArrayLike, baseline: ArrayLike) -> dict[str, Any]:
    """A model's predictions against a baseline's on the same leads: both evaluations and the
    model's gains (AUC up, log loss and ECE down are positive gains)."""
    m, b = evaluate(y, model), evaluate(y, baseline)
    gain: dict[str, float | None] = {
        "auc": None if m.auc is None or b.auc is None else m.auc - b.auc,
        "log_loss": b.log_loss - m.log_loss,
        "ece": b.ece - m.ece,
    }
    return {"model": m.as_dict(), "baseline": b.as_dict(), "gain": gain}


def reliability_plot(
    curves: Mapping[str, tuple[ArrayLike, ArrayLike]],
    path: Path,
    *,
    title: str = "Reliability",
    bins: int = ECE_BINS,
) -> Path:
    """Write a reliability diagram as PNG: for each named (y, p), observed rate against mean
    predicted probability per bin, with the diagonal of perfect calibration and each curve's
    ECE in its legend. Uses matplotlib's Agg backend (no display). Returns `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 5.0), dpi=100)
    try:
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
        for name, (y, p) in curves.items():
            curve = reliability_curve(y, p, bins)
            ece = expected_calibration_error(y, p, bins)
            ax.plot(
                [b.mean_predicted or 0.0 for b in curve if b.count],
                [b.observed_rate or 0.0 for b in curve if b.count],
                marker="o",
                label=f"{name} (ECE {ece:.3f})",
            )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("observed rate")
        ax.set_title(title)
        ax.legend(loc="upper left")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def logit(p: ArrayLike) -> NDArray[np.float64]:
    """ln(p / (1 - p)), p clipped to [1e-6, 1 - 1e-6] so certainties stay finite."""
    pc = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1.0 - 1e-6)
    out: NDArray[np.float64] = np.log(pc) - np.log1p(-pc)
    return out


def sigmoid(z: ArrayLike) -> NDArray[np.float64]:
    """1 / (1 + exp(-z)), elementwise."""
    za = np.asarray(z, dtype=np.float64)
    out: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-za))
    return out


__all__ = [
    "ECE_BINS",
    "Bin",
    "Metrics",
    "auc",
    "compare",
    "evaluate",
    "expected_calibration_error",
    "log_loss",
    "logit",
    "reliability_curve",
    "reliability_plot",
    "sigmoid",
]
