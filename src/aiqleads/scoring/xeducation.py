"""The real check of the training pipeline: X Education's leads (Kaggle "Lead Scoring Dataset",
9,240 leads of an online-course company, label `Converted`, 38.5 % positive).

The file has no licence, so it is never copied into this repository: the path is given (the
tests find it in ../shared/data/leads/Leads.csv and skip without it).

What is left out, and why:

* `Prospect ID`, `Lead Number`: ids.
* `Tags`, `Lead Quality`, `Lead Profile`, `Asymmetrique Activity/Profile Index/Score`: filled in
  by the sales team after talking to the lead ("Closed by Horizzon", "Will revert after
  reading the email"), so they carry the outcome; with them a model scores about 0.97 AUC on
  information it would not have when scoring a new lead.

The rest is encoded as numbers: the three activity counts as they are (an empty cell is NaN,
which LightGBM handles); Yes/No as 1/0; every other column one-hot, with "Select" (the form's
unselected drop-down) and an empty cell both meaning missing, which gets its own indicator
column, and levels seen fewer than `MIN_LEVEL` times pooled into "other". The one-hot
vocabulary is read from the whole file (the levels' names, never the labels), so every fold has
the same columns.

`cross_validate` runs the same `scoring.model.train` the lead model uses (out-of-fold calibration
included) inside a 5-fold stratified cross-validation and reports its held-out AUC, log loss and
ECE, beside a logistic regression on the same columns (missing counts imputed with the training
fold's median, log1p, standardised) for reference. Published results without the leaky
columns: AUC 0.88-0.92; a logistic regression about 0.90.
"""

from __future__ import annotations

import csv
import gzip
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aiqleads.kit.textfiles import open_text
from aiqleads.scoring import evaluation
from aiqleads.scoring.model import TrainConfig, train

LABEL = "Converted"
IDS = ("Prospect ID", "Lead Number")
LEAKY = (
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
)
NUMERIC = ("TotalVisits", "Total Time Spent on Website", "Page Views Per Visit")
MISSING = ("", "Select")
MIN_LEVEL = 10
FOLDS = 5
# Modest, for a 2-core machine: 5 outer folds x (3 calibration folds + 1 final) boosters.
CONFIG = TrainConfig(
    num_boost_round=250,
    learning_rate=0.05,
    num_leaves=15,
    min_data_in_leaf=20,
    num_threads=1,
    calibration_folds=3,
)


@dataclass(frozen=True, slots=True)
class Dataset:
    """X (n, k) float64 with NaN for missing counts, y (n,) 0/1, the k column names."""

    X: NDArray[np.float64]
    y: NDArray[np.int64]
    names: tuple[str, ...]


def _number(text: str) -> float:
    return float(text) if text.strip() else math.nan


def load(path: Path) -> Dataset:
    """Read and encode Leads.csv (see the module docstring).

    The file may be gzip-compressed. Raises ValueError when it is not UTF-8 CSV text (or a
    corrupt gzip archive), lacks the label or a numeric column, or a label is not 0/1."""
    try:
        with open_text(path) as f:
            rows = list(csv.DictReader(f))
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, csv.Error) as exc:
        raise ValueError(
            f"{path}: not readable as CSV text ({exc}); X Education's Leads.csv is a plain or"
            " gzip-compressed UTF-8 CSV"
        ) from exc
    if not rows:
        raise ValueError(f"{path}: no rows")
    header = [h for h in rows[0] if h]  # the file ends each line with a comma: a nameless column
    lacking = [c for c in (LABEL, *NUMERIC) if c not in header]
    if lacking:
        raise ValueError(f"{path}: no column {lacking}; is this X Education's Leads.csv?")
    labels = [r[LABEL] for r in rows]
    if set(labels) - {"0", "1"}:
        raise ValueError(f"{path}: `{LABEL}` must be 0 or 1")
    skip = {LABEL, *IDS, *LEAKY, *NUMERIC}
    columns: list[tuple[str, NDArray[np.float64]]] = [
        (c, np.array([_number(r[c]) for r in rows])) for c in NUMERIC
    ]
    for c in (h for h in header if h not in skip):
        values = ["" if r[c] in MISSING else r[c] for r in rows]
        levels = set(values) - {""}
        if levels <= {"Yes", "No"}:
            if len(levels) == 2:  # a constant column says nothing
                columns.append((c, np.array([float(v == "Yes") for v in values])))
            continue
        counts = Counter(values)
        kept = sorted(v for v in levels if counts[v] >= MIN_LEVEL)
        for level in kept:
            columns.append((f"{c}={level}", np.array([float(v == level) for v in values])))
        if counts[""]:
            columns.append((f"{c}=(missing)", np.array([float(v == "") for v in values])))
        if len(kept) < len(levels):
            pooled = set(kept) | {""}
            columns.append((f"{c}=(other)", np.array([float(v not in pooled) for v in values])))
    X = np.column_stack([v for _, v in columns])
    y = np.array([int(v) for v in labels], dtype=np.int64)
    return Dataset(X, y, tuple(n for n, _ in columns))


def _logistic(X_fit: NDArray[np.float64], y_fit: NDArray[np.int64]) -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)).fit(
        X_fit, y_fit
    )


def _for_logistic(
    X: NDArray[np.float64], fit_rows: NDArray[np.int64], n_numeric: int
) -> NDArray[np.float64]:
    """The counts imputed with the fitting rows' medians and log1p'd; the rest as is."""
    out = X.copy()
    for j in range(n_numeric):
        median = float(np.nanmedian(X[fit_rows, j]))
        column = np.where(np.isnan(out[:, j]), median, out[:, j])
        out[:, j] = np.log1p(np.maximum(column, 0.0))
    return out


def cross_validate(
    data: Dataset,
    *,
    folds: int = FOLDS,
    seed: int = 0,
    config: TrainConfig = CONFIG,
    plot: Path | None = None,
) -> dict[str, Any]:
    """Held-out predictions of every lead from `folds`-fold stratified CV, for the scoring
    model (calibrated) and the logistic regression, evaluated on all leads at once; also the
    per-fold AUCs. With `plot`, writes both reliability curves there (PNG). Returns a
    JSON-ready dict."""
    model_p = np.empty(len(data.y))
    logistic_p = np.empty(len(data.y))
    per_fold: list[dict[str, float]] = []
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for n, (fit_rows, held_rows) in enumerate(splitter.split(data.X, data.y)):
        model = train(
            data.X[fit_rows], data.y[fit_rows], data.names, config=config, version=f"fold-{n}"
        )
        model_p[held_rows] = model.predict(data.X[held_rows])
        Xl = _for_logistic(data.X, fit_rows, len(NUMERIC))
        lr = _logistic(Xl[fit_rows], data.y[fit_rows])
        logistic_p[held_rows] = lr.predict_proba(Xl[held_rows])[:, 1]
        per_fold.append(
            {
                "model_auc": evaluation.auc(data.y[held_rows], model_p[held_rows]),
                "logistic_auc": evaluation.auc(data.y[held_rows], logistic_p[held_rows]),
            }
        )
    if plot is not None:
        evaluation.reliability_plot(
            {"scoring model": (data.y, model_p), "logistic regression": (data.y, logistic_p)},
            plot,
            title=f"X Education, {folds}-fold held-out",
        )
    return {
        "leads": len(data.y),
        "converted": int(data.y.sum()),
        "features": len(data.names),
        "folds": folds,
        "left_out": [*IDS, *LEAKY],
        "model": evaluation.evaluate(data.y, model_p).as_dict(),
        "logistic_regression": evaluation.evaluate(data.y, logistic_p).as_dict(),
        "per_fold": per_fold,
        "published_auc": [0.88, 0.92],
    }
