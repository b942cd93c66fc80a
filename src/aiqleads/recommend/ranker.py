"""The learning-to-rank model: LightGBM LambdaRank over agent × lead features, its versioned
artifact, and the cold-start scorer used before any model exists or for a new agent.

Training (`train`) takes a matrix X (n, k) float64 (NaN allowed), graded labels y (n,) int
(3 purchase, 2 hold, 1 view, 0 shown or offered and not touched) and group sizes (one group
per agent × decision time, rows of a group contiguous). Objective `lambdarank` (Burges,
"From RankNet to LambdaRank to LambdaMART", MSR-TR-2010-82) with LightGBM's default label gain
2^y − 1 and NDCG truncated at 10. The last `valid_share` of the groups (in the order given:
the caller passes them in time order) is held out to measure NDCG@10 of the model against the
cold-start scorer on the same groups; the final model is then trained on every group.

The artifact is a directory `<root>/<version>/`:

* `model.txt`: LightGBM's text model, features named f0…f{k-1};
* `meta.json`: format, version, feature names in column order and their version, training
  window (ISO 8601 UTC), parameters, metrics, trained_at.

`load` refuses an artifact of another format or whose feature names differ from the code's
(`features.FEATURE_NAMES`): a ranker fed columns in another order ranks nonsense.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aiqleads.recommend.features import FEATURE_NAMES, FEATURES_VERSION

FORMAT = 1
MODEL_FILE, META_FILE = "model.txt", "meta.json"
COLD_START_VERSION = "cold-start-1"


class ArtifactError(ValueError):
    """An artifact that cannot be used: missing files, another format, other feature names."""


@dataclass(frozen=True, slots=True)
class RankerConfig:
    """LightGBM parameters: modest trees, a fixed seed, `deterministic` and one thread (the
    scoring model's finding: two OpenMP threads on a busy 2-core machine were 10× slower)."""

    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 20
    subsample: float = 0.8
    colsample_bytree: float = 0.9
    seed: int = 0
    valid_share: float = 0.2

    def lgb_params(self) -> dict[str, Any]:
        return {
            "objective": "lambdarank",
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "subsample": self.subsample,
            "subsample_freq": 1,
            "colsample_bytree": self.colsample_bytree,
            "lambdarank_truncation_level": 10,
            "random_state": self.seed,
            "n_jobs": 1,
            "deterministic": True,
            "force_col_wise": True,
            "verbose": -1,
        }


@dataclass(frozen=True, slots=True)
class RankerMeta:
    version: str
    feature_names: tuple[str, ...]
    feature_version: str = FEATURES_VERSION
    trained_at: str | None = None
    training_window: tuple[str, str] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["feature_names"] = list(self.feature_names)
        data["training_window"] = (
            None if self.training_window is None else list(self.training_window)
        )
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RankerMeta:
        if data.get("format") != FORMAT:
            raise ArtifactError(f"artifact format {data.get('format')!r}, this code reads {FORMAT}")
        window = data.get("training_window")
        return cls(
            version=str(data["version"]),
            feature_names=tuple(str(n) for n in data["feature_names"]),
            feature_version=str(data.get("feature_version", "")),
            trained_at=data.get("trained_at"),
            training_window=None if window is None else (str(window[0]), str(window[1])),
            params=dict(data.get("params", {})),
            metrics=dict(data.get("metrics", {})),
        )


class Ranker:
    """A trained LambdaRank booster and its metadata. `score(X)` → (n,) higher is better."""

    def __init__(self, booster: Any, meta: RankerMeta) -> None:
        if booster.num_feature() != len(meta.feature_names):
            raise ArtifactError(
                f"booster has {booster.num_feature()} features, meta names"
                f" {len(meta.feature_names)}"
            )
        self.booster = booster
        self.meta = meta

    @property
    def version(self) -> str:
        return self.meta.version

    def score(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        if X.shape[0] == 0:
            return np.empty(0)
        out: NDArray[np.float64] = np.asarray(
            self.booster.predict(X, num_threads=1), dtype=np.float64
        )
        return out

    def save(self, root: Path) -> Path:
        """Write the artifact under `root/<version>/`; returns that directory."""
        folder = root / self.meta.version
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / MODEL_FILE))
        (folder / META_FILE).write_text(json.dumps(self.meta.as_json(), indent=2, sort_keys=True))
        return folder


def load(folder: Path, expected_names: Sequence[str] = FEATURE_NAMES) -> Ranker:
    """The ranker stored in `folder`. Raises ArtifactError for missing files, another format
    or feature names other than `expected_names` (by name and order)."""
    import lightgbm as lgb

    model_path, meta_path = folder / MODEL_FILE, folder / META_FILE
    if not model_path.is_file() or not meta_path.is_file():
        raise ArtifactError(f"{folder}: needs {MODEL_FILE} and {META_FILE}")
    meta = RankerMeta.from_json(json.loads(meta_path.read_text()))
    if tuple(meta.feature_names) != tuple(expected_names):
        raise ArtifactError(
            f"{folder}: features {list(meta.feature_names)} differ from {list(expected_names)}"
        )
    return Ranker(lgb.Booster(model_file=str(model_path)), meta)


# --- cold start -----------------------------------------------------------------------------
# A new agent has no behaviour, and before the first training there is no model: rank by the
# stated preferences and the lead's own score. Weights chosen by hand, in order of what an agent
# states first (where, what price, what kind), then quality (bucket) and freshness; a missing
# value counts as neutral (0).
_COLD_WEIGHTS = {
    "territory": 1.0,
    "price_inside": 1.0,
    "price_gap": -0.5,
    "kind_match": 0.5,
    "bedrooms_inside": 0.3,
    "score_bucket": 1.5,
    "fresh": 0.5,
}
_FRESH_HOURS = 168.0  # a week: e^(-age/168h)


def cold_start_scores(X: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cold-start score per row of a feature matrix (FEATURE_NAMES order):
    1·[in territory] + 1·[in price range] − 0.5·price_gap + 0.5·kind_match
    + 0.3·[bedrooms in range] + 1.5·score_bucket midpoint + 0.5·e^(−age_hours/168)."""
    col = {name: X[:, i] for i, name in enumerate(FEATURE_NAMES)}

    def z(v: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.nan_to_num(v, nan=0.0)

    territory = (
        (z(col["territory_zip"]) > 0)
        | (z(col["territory_cell"]) > 0)
        | (np.nan_to_num(col["territory_radius"], nan=np.inf) <= 1.0)
        | (z(col["learned_zip_share"]) > 0)
        | (z(col["learned_cell_share"]) > 0)
    )
    gap = col["price_gap"]
    w = _COLD_WEIGHTS
    out: NDArray[np.float64] = (
        w["territory"] * territory
        + w["price_inside"] * (gap == 0)
        + w["price_gap"] * z(gap)
        + w["kind_match"] * z(col["kind_match"])
        + w["bedrooms_inside"] * (col["bedrooms_gap"] == 0)
        + w["score_bucket"] * z(col["score_bucket"])
        + w["fresh"] * np.exp(-z(col["age_hours"]) / _FRESH_HOURS)
    )
    return out


# --- training -------------------------------------------------------------------------------


def ndcg_at(
    scores: NDArray[np.float64], y: NDArray[np.int64], groups: Sequence[int], k: int = 10
) -> float:
    """Mean NDCG@k over the groups with a positive label, gain 2^y − 1, log2 discount."""
    total, counted, start = 0.0, 0, 0
    for size in groups:
        s, g = scores[start : start + size], y[start : start + size]
        start += size
        if g.max(initial=0) <= 0:
            continue
        order = np.lexsort((np.arange(size), -s))[:k]
        disc = 1.0 / np.log2(np.arange(2, min(k, size) + 2))
        dcg = float(((2.0 ** g[order] - 1) * disc[: len(order)]).sum())
        ideal = np.sort(g)[::-1][:k]
        idcg = float(((2.0**ideal - 1) * disc[: len(ideal)]).sum())
        total += dcg / idcg
        counted += 1
    return total / counted if counted else 0.0


def train(
    X: NDArray[np.float64],
    y: NDArray[np.int64],
    groups: Sequence[int],
    *,
    version: str,
    trained_at: str,
    training_window: tuple[str, str] | None,
    config: RankerConfig | None = None,
) -> Ranker:
    """Train a LambdaRank ranker (see the module docstring). Raises ValueError for shapes that
    disagree, no group, or no positive label."""
    import lightgbm as lgb

    cfg = config or RankerConfig()
    if X.ndim != 2 or X.shape[1] != len(FEATURE_NAMES):
        raise ValueError(f"X must have shape (n, {len(FEATURE_NAMES)}), not {X.shape}")
    if X.shape[0] != y.shape[0] or sum(groups) != X.shape[0]:
        raise ValueError("X, y and the group sizes disagree on the number of rows")
    if not groups or int(y.max(initial=0)) <= 0:
        raise ValueError("no group with a positive label: nothing to learn from")
    params = cfg.lgb_params()
    metrics: dict[str, Any] = {"rows": int(X.shape[0]), "groups": len(groups)}
    n_valid = int(len(groups) * cfg.valid_share)
    if n_valid >= 5 and len(groups) - n_valid >= 5:
        cut = int(sum(groups[: len(groups) - n_valid]))
        g_train, g_valid = (
            list(groups[: len(groups) - n_valid]),
            list(groups[len(groups) - n_valid :]),
        )
        held = lgb.LGBMRanker(**params).fit(X[:cut], y[:cut], group=g_train)
        metrics["valid_groups"] = n_valid
        metrics["valid_ndcg@10"] = ndcg_at(
            np.asarray(held.predict(X[cut:]), dtype=np.float64), y[cut:], g_valid
        )
        metrics["valid_ndcg@10_cold_start"] = ndcg_at(cold_start_scores(X[cut:]), y[cut:], g_valid)
    model = lgb.LGBMRanker(**params).fit(X, y, group=list(groups))
    gains = model.booster_.feature_importance(importance_type="gain")
    total = float(gains.sum()) or 1.0
    metrics["importance"] = {
        name: round(float(g) / total, 4) for name, g in zip(FEATURE_NAMES, gains, strict=True)
    }
    meta = RankerMeta(
        version=version,
        feature_names=FEATURE_NAMES,
        trained_at=trained_at,
        training_window=training_window,
        params={k: v for k, v in params.items() if k != "verbose"},
        metrics=metrics,
    )
    return Ranker(model.booster_, meta)
