"""The lead-scoring model: a LightGBM binary classifier whose output is calibrated into a
probability, and its versioned artifact.

Training (`train`) works on a plain matrix: X (n, k) float64 (NaN allowed: LightGBM sends a
missing value down the side of each split that learned it), y (n,) of 0/1, and the k feature
names. The calibrator is fitted on out-of-fold predictions (stratified k-fold: each lead's
prediction comes from a booster that never saw it), never on the final booster's own training
fit, which is overconfident on the data it learned (Niculescu-Mizil and Caruana, ICML 2005;
scikit-learn's CalibratedClassifierCV does the same with `cv`). The final booster is then
trained on every row with the same parameters.

Calibration is isotonic regression (default; a monotone step function, fine from about a
thousand rows) or Platt scaling (a logistic fit on the booster's log-odds, 2 parameters, for
small samples). Both are stored as plain numbers in JSON and applied with numpy, so loading an
artifact never unpickles anything.

The artifact is a directory:

* `model.txt`: LightGBM's own text model (`Booster.save_model`), its features named f0…f{k-1};
* `calibrator.json`: {"kind": "isotonic", "x": [...], "y": [...]} or
  {"kind": "platt", "a": …, "b": …};
* `meta.json`: version, feature set and its version, feature names (in column order),
  training window, parameters, metrics, gain importance, trained_at.

`load(path, expected_names)` refuses an artifact whose feature names differ from the ones the
caller will feed it, by name and order: a model fed columns in another order answers confident
nonsense.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aiqleads.scoring.evaluation import evaluate, logit, sigmoid

if TYPE_CHECKING:
    import lightgbm as lgb

# LightGBM and scikit-learn are imported by the functions that use them (~30 MB together): this
# module is imported wherever a score is read, including processes that serve only the catalog
# and never load a model.

FORMAT = 1  # of the artifact directory; bumped when its files change shape
MODEL_FILE, CALIBRATOR_FILE, META_FILE = "model.txt", "calibrator.json", "meta.json"

Calibration = Literal["isotonic", "platt"]


class ArtifactError(ValueError):
    """An artifact that cannot be used: missing files, another format, or feature names other
    than the caller's."""


SMALL_PREDICT_ROWS = 1024  # fewer rows than this are predicted on one thread (`_predict`)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """LightGBM parameters and the calibration set-up. Modest defaults: a few hundred boosting
    rounds of small trees, a fixed seed and `deterministic` so one input gives one model, and
    one thread: on a busy 2-core machine, two OpenMP threads waiting on each other made a small
    training ten times slower (0.5 s against 4.9 s, 400 rows, load average 8)."""

    num_boost_round: int = 300
    learning_rate: float = 0.03
    num_leaves: int = 15
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 1.0
    num_threads: int = 1
    seed: int = 0
    calibration: Calibration = "isotonic"
    calibration_folds: int = 5

    def lgb_params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": self.bagging_freq,
            "lambda_l2": self.lambda_l2,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
        }


@dataclass(frozen=True, slots=True)
class Calibrator:
    """A monotone map from the booster's probability to a calibrated one.

    isotonic: piecewise linear through the points (x, y), flat beyond the ends (what
    scikit-learn's IsotonicRegression(out_of_bounds="clip") predicts). platt: sigmoid(a * z + b)
    on the booster's log-odds z."""

    kind: Calibration
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    a: float = 1.0
    b: float = 0.0

    def apply(self, p_raw: ArrayLike) -> NDArray[np.float64]:
        p = np.asarray(p_raw, dtype=np.float64)
        if self.kind == "isotonic":
            out: NDArray[np.float64] = np.interp(p, self.x, self.y)
            return out
        return sigmoid(self.a * logit(p) + self.b)

    def as_json(self) -> dict[str, Any]:
        if self.kind == "isotonic":
            return {"kind": "isotonic", "x": list(self.x), "y": list(self.y)}
        return {"kind": "platt", "a": self.a, "b": self.b}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibrator:
        kind = data.get("kind")
        if kind == "isotonic":
            x = tuple(float(v) for v in data["x"])
            y = tuple(float(v) for v in data["y"])
            if len(x) != len(y) or not x:
                raise ArtifactError("isotonic calibrator: x and y must be non-empty, same length")
            return cls("isotonic", x=x, y=y)
        if kind == "platt":
            return cls("platt", a=float(data["a"]), b=float(data["b"]))
        raise ArtifactError(f"unknown calibrator kind {kind!r}")

    @classmethod
    def fit(cls, kind: Calibration, p_raw: ArrayLike, y: ArrayLike) -> Calibrator:
        """Fit on held-out (out-of-fold) probabilities of the booster and their labels."""
        p = np.asarray(p_raw, dtype=np.float64)
        ya = np.asarray(y, dtype=np.float64)
        from sklearn.isotonic import IsotonicRegression
        from sklearn.linear_model import LogisticRegression

        if kind == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, ya)
            return cls(
                "isotonic",
                x=tuple(float(v) for v in iso.X_thresholds_),
                y=tuple(float(v) for v in iso.y_thresholds_),
            )
        # Platt: a logistic regression of y on the log-odds, nearly unregularised.
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(logit(p).reshape(-1, 1), ya)
        return cls("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))


@dataclass(frozen=True, slots=True)
class ModelMeta:
    """What `meta.json` holds. `training_window` is (start, end) as ISO 8601 UTC instants of
    the events the labels came from, or None (a data set with no time, like X Education).
    `metrics` are the out-of-fold evaluation (`oof_raw`: the boosters' own probabilities;
    `oof_calibrated`: after calibration cross-fitted, each fold by a calibrator fitted on the
    other folds (`cross_fit`); both on every training row). `importance` is each
    feature's total split gain."""

    version: str
    feature_names: tuple[str, ...]
    feature_set: str = ""
    feature_version: str = ""
    trained_at: str | None = None
    training_window: tuple[str, str] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    importance: dict[str, float] = field(default_factory=dict)
    format: int = FORMAT

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["feature_names"] = list(self.feature_names)
        data["training_window"] = (
            None if self.training_window is None else list(self.training_window)
        )
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelMeta:
        if data.get("format") != FORMAT:
            raise ArtifactError(f"artifact format {data.get('format')!r}, this code reads {FORMAT}")
        window = data.get("training_window")
        return cls(
            version=str(data["version"]),
            feature_names=tuple(str(n) for n in data["feature_names"]),
            feature_set=str(data.get("feature_set", "")),
            feature_version=str(data.get("feature_version", "")),
            trained_at=data.get("trained_at"),
            training_window=None if window is None else (str(window[0]), str(window[1])),
            params=dict(data.get("params", {})),
            metrics=dict(data.get("metrics", {})),
            importance={str(k): float(v) for k, v in data.get("importance", {}).items()},
        )


def _booster_names(k: int) -> list[str]:
    # LightGBM rejects some characters in feature names (JSON specials); the real names live in
    # meta.json, the booster sees positions.
    return [f"f{i}" for i in range(k)]


class ScoringModel:
    """A trained booster, its calibrator and its metadata."""

    def __init__(self, booster: lgb.Booster, calibrator: Calibrator, meta: ModelMeta) -> None:
        if booster.num_feature() != len(meta.feature_names):
            raise ArtifactError(
                f"booster has {booster.num_feature()} features, meta names"
                f" {len(meta.feature_names)}"
            )
        self.booster = booster
        self.calibrator = calibrator
        self.meta = meta
        # Set by `train`: each training row's cross-fitted calibrated out-of-fold probability
        # (`cross_fit`), for comparing
        # with a baseline on the same rows; not saved.
        self.oof: NDArray[np.float64] | None = None

    @property
    def version(self) -> str:
        return self.meta.version

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.meta.feature_names

    def _matrix(self, X: ArrayLike) -> NDArray[np.float64]:
        return _check_matrix(X, len(self.feature_names))

    def _predict(self, X: ArrayLike, **kwargs: Any) -> NDArray[np.float64]:
        xa = self._matrix(X)
        # A few rows (one lead online) on one thread: an OpenMP team saves nothing there, and on
        # a busy machine each call waits for its threads to be scheduled (measured on one row:
        # p95 20 ms with the default team, 0.12 ms on one thread). Many rows: the default (0).
        threads = 1 if xa.shape[0] < SMALL_PREDICT_ROWS else 0
        return np.asarray(self.booster.predict(xa, num_threads=threads, **kwargs), dtype=np.float64)

    def predict_raw(self, X: ArrayLike) -> NDArray[np.float64]:
        """The booster's own probabilities, shape (n,), before calibration."""
        return self._predict(X)

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """Calibrated probabilities, shape (n,), of the outcome the model was trained on."""
        return np.clip(self.calibrator.apply(self.predict_raw(X)), 0.0, 1.0)

    def contributions(self, X: ArrayLike) -> NDArray[np.float64]:
        """Per-lead TreeSHAP contributions (LightGBM `pred_contrib=True`), shape (n, k + 1): one
        column per feature in `feature_names` order, then the bias (the expected log-odds); each
        row sums to the booster's log-odds for that lead. Units: log-odds of the uncalibrated
        booster (the calibrator is a monotone map applied after)."""
        return self._predict(X, pred_contrib=True)

    def importance(self) -> dict[str, float]:
        """Each feature's total split gain over the trees, by name."""
        gains = self.booster.feature_importance(importance_type="gain")
        return {n: float(g) for n, g in zip(self.feature_names, gains, strict=True)}

    def save(self, path: Path) -> Path:
        """Write the artifact directory (created; existing files replaced). Returns `path`."""
        path.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(path / MODEL_FILE))
        (path / CALIBRATOR_FILE).write_text(json.dumps(self.calibrator.as_json()))
        (path / META_FILE).write_text(json.dumps(self.meta.as_json(), indent=2, sort_keys=True))
        return path


def load(path: Path, expected_names: Sequence[str]) -> ScoringModel:
    """The model saved at `path`, checked against the feature names the caller will give it.

    Raises ArtifactError when a file is missing or malformed, or when the artifact's feature
    names are not exactly `expected_names` (same names, same order); the message names the
    features only one side has, or says the order differs."""
    for name in (MODEL_FILE, CALIBRATOR_FILE, META_FILE):
        if not (path / name).is_file():
            raise ArtifactError(f"{path}: no {name}; not a scoring model artifact")
    try:
        meta = ModelMeta.from_json(json.loads((path / META_FILE).read_text()))
        calibrator = Calibrator.from_json(json.loads((path / CALIBRATOR_FILE).read_text()))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ArtifactError):
            raise
        raise ArtifactError(f"{path}: malformed artifact ({exc})") from exc
    check_names(meta.feature_names, expected_names, what=f"model {meta.version}")
    import lightgbm as lgb

    try:
        booster = lgb.Booster(model_file=str(path / MODEL_FILE))
    except lgb.basic.LightGBMError as exc:
        raise ArtifactError(f"{path}: {MODEL_FILE} is not a LightGBM model ({exc})") from exc
    return ScoringModel(booster, calibrator, meta)


def check_names(have: Sequence[str], expected: Sequence[str], *, what: str) -> None:
    """Raise ArtifactError unless `have` and `expected` are the same names in the same order."""
    if tuple(have) == tuple(expected):
        return
    missing = [n for n in expected if n not in have]
    extra = [n for n in have if n not in expected]
    if missing or extra:
        raise ArtifactError(
            f"{what} was trained on other features: it lacks {missing}, has extra {extra}"
        )
    raise ArtifactError(f"{what} was trained on the same features in another order")


def _check_matrix(X: ArrayLike, k: int | None = None) -> NDArray[np.float64]:
    xa = np.asarray(X, dtype=np.float64)
    if xa.ndim != 2:
        raise ValueError(f"X must be 2-D (n, k), got shape {xa.shape}")
    if k is not None and xa.shape[1] != k:
        raise ValueError(f"X has {xa.shape[1]} columns, the model {k} features")
    if np.isinf(xa).any():
        raise ValueError("X holds infinite values")
    return xa


def _check_training(
    X: ArrayLike, y: ArrayLike, names: Sequence[str], folds: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    xa = _check_matrix(X)
    ya = np.asarray(y)
    if ya.shape != (xa.shape[0],):
        raise ValueError(f"y has shape {ya.shape}, X {xa.shape}: need ({xa.shape[0]},)")
    if not np.isin(ya, (0, 1)).all():
        raise ValueError("y must hold 0 and 1 only")
    if len(names) != xa.shape[1] or len(set(names)) != len(names):
        raise ValueError(f"{len(names)} names for {xa.shape[1]} columns, or a name repeated")
    positives = int(ya.sum())
    least = min(positives, ya.size - positives)
    if least < folds:
        raise ValueError(
            f"{positives} positives of {ya.size}: each class needs at least {folds} rows"
            f" ({folds}-fold calibration)"
        )
    return xa, ya.astype(np.int64)


def _fit_booster(X: NDArray[np.float64], y: NDArray[np.int64], config: TrainConfig) -> lgb.Booster:
    import lightgbm as lgb

    data = lgb.Dataset(X, label=y, feature_name=_booster_names(X.shape[1]), free_raw_data=True)
    return lgb.train(config.lgb_params(), data, num_boost_round=config.num_boost_round)


def folds(y: NDArray[np.int64], config: TrainConfig) -> NDArray[np.int64]:
    """Each row's fold, shape (n,), values 0 … `calibration_folds` − 1: stratified k-fold,
    shuffled with the config's seed (the split both `out_of_fold` and `cross_fit` use)."""
    from sklearn.model_selection import StratifiedKFold

    fold = np.empty(len(y), dtype=np.int64)
    splitter = StratifiedKFold(config.calibration_folds, shuffle=True, random_state=config.seed)
    for k, (_, held_rows) in enumerate(splitter.split(np.zeros((len(y), 1)), y)):
        fold[held_rows] = k
    return fold


def out_of_fold(
    X: NDArray[np.float64], y: NDArray[np.int64], config: TrainConfig
) -> NDArray[np.float64]:
    """Each row's booster probability from a booster trained without that row's fold
    (`folds`)."""
    oof = np.empty(len(y), dtype=np.float64)
    fold = folds(y, config)
    for k in range(config.calibration_folds):
        held_rows = fold == k
        booster = _fit_booster(X[~held_rows], y[~held_rows], config)
        oof[held_rows] = np.asarray(booster.predict(X[held_rows]), dtype=np.float64)
    return oof


def cross_fit(
    kind: Calibration, p_raw: ArrayLike, y: ArrayLike, fold: ArrayLike
) -> NDArray[np.float64]:
    """Each row's calibrated probability from a calibrator fitted on the other folds' rows only,
    shape (n,), in [0, 1]: what calibration does on data it was not fitted on, so that metrics of
    it (the ECE above all) are honest. The stored calibrator is fitted on every row; measured on
    those same rows an isotonic fit is calibrated by construction (ECE about 1e-17).

    p_raw: (n,) out-of-fold booster probabilities; y: (n,) 0/1; fold: (n,) each row's fold.
    Raises ValueError when the shapes differ or a fold leaves the other rows with one class."""
    p = np.asarray(p_raw, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    fa = np.asarray(fold)
    if not p.shape == ya.shape == fa.shape or p.ndim != 1:
        raise ValueError(f"p_raw {p.shape}, y {ya.shape} and fold {fa.shape} must be the same (n,)")
    out = np.empty_like(p)
    for k in np.unique(fa):
        held = fa == k
        rest = ya[~held]
        if rest.size == 0 or rest.min() == rest.max():
            raise ValueError(f"without fold {k} the rows hold one class: cannot fit a calibrator")
        out[held] = Calibrator.fit(kind, p[~held], rest).apply(p[held])
    return np.clip(out, 0.0, 1.0)


def train(
    X: ArrayLike,
    y: ArrayLike,
    names: Sequence[str],
    *,
    config: TrainConfig | None = None,
    version: str,
    feature_set: str = "",
    feature_version: str = "",
    trained_at: datetime | None = None,
    training_window: tuple[datetime, datetime] | None = None,
) -> ScoringModel:
    """Train the booster and its calibrator (see the module docstring).

    X: (n, k) float64, NaN for missing; y: (n,) of 0 and 1; names: the k feature names in column
    order. Raises ValueError on mismatched shapes, labels other than 0/1, repeated names, or a
    class with fewer rows than calibration folds."""
    cfg = config or TrainConfig()
    xa, ya = _check_training(X, y, names, cfg.calibration_folds)
    oof = out_of_fold(xa, ya, cfg)
    calibrator = Calibrator.fit(cfg.calibration, oof, ya)
    # The metrics of calibrated predictions come from calibrators that did not see the row
    # (`cross_fit`), on the same folds as the boosters'.
    oof_calibrated = cross_fit(cfg.calibration, oof, ya, folds(ya, cfg))
    booster = _fit_booster(xa, ya, cfg)
    metrics = {
        "oof_raw": evaluate(ya, oof).as_dict(),
        "oof_calibrated": evaluate(ya, oof_calibrated).as_dict(),
    }
    gains = booster.feature_importance(importance_type="gain")
    meta = ModelMeta(
        version=version,
        feature_names=tuple(names),
        feature_set=feature_set,
        feature_version=feature_version,
        trained_at=None if trained_at is None else trained_at.isoformat(),
        training_window=None
        if training_window is None
        else (training_window[0].isoformat(), training_window[1].isoformat()),
        params={**cfg.lgb_params(), **asdict(cfg)},
        metrics=metrics,
        importance={n: float(g) for n, g in zip(names, gains, strict=True)},
    )
    model = ScoringModel(booster, calibrator, meta)
    model.oof = oof_calibrated
    return model


def with_metrics(model: ScoringModel, **metrics: Any) -> ScoringModel:
    """The same model with more entries in its metadata's metrics (before it is saved)."""
    meta = replace(model.meta, metrics={**model.meta.metrics, **metrics})
    out = ScoringModel(model.booster, model.calibrator, meta)
    out.oof = model.oof
    return out


def importance_shares(importance: dict[str, float]) -> dict[str, float]:
    """Gains as shares of their total (each in [0, 1], summing to 1; all 0 when no split)."""
    total = sum(importance.values())
    if total <= 0 or not math.isfinite(total):
        return dict.fromkeys(importance, 0.0)
    return {n: g / total for n, g in importance.items()}
