"""What the model registry endpoint answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ScoringModelOut(BaseModel):
    """A registered scoring model: its version (the `model_version` of the scores it made),
    whether it is the active one, the feature set and version it reads, its feature names in
    column order, the window of events its labels came from (null for a data set without
    time), its out-of-fold metrics (`oof_raw`, `oof_calibrated`: n, positives, auc, log_loss
    in nats, ece on 10 equal-width bins; `oof_calibrated` cross-fitted, each fold calibrated by
    a fit on the other folds, scoring.model.cross_fit), and each feature's total split gain."""

    version: str
    is_active: bool
    trained_at: datetime
    feature_set: str
    feature_version: str
    feature_names: list[str]
    window_start: datetime | None
    window_end: datetime | None
    metrics: dict[str, Any]
    importance: dict[str, float]
