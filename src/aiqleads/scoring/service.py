"""The model registry: register a trained model's artifact, choose the active one, list them,
and export each model's feature importance as a Prometheus gauge
(aiq_scoring_feature_importance_ratio). And the two flows the CLI runs: train a model from the
event log's labels and a feature provider's vectors, and score every lead with the active one.

A feature provider is a function `async (session, now, lead_ids | None) -> matrix` with
`lead_ids`, `names` and `values` (aiqleads.features.lead.lead_features_batch); it is passed in,
so tests use a small local one."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.kit.clock import as_utc
from aiqleads.leads.pricing import RULES_VERSION
from aiqleads.models import ScoringModelRow
from aiqleads.observability.metrics import SCORING_FEATURE_IMPORTANCE
from aiqleads.scoring import evaluation, repository, simulator
from aiqleads.scoring.model import (
    ScoringModel,
    TrainConfig,
    importance_shares,
    train,
    with_metrics,
)


async def register(
    session: AsyncSession,
    model: ScoringModel,
    artifact_path: Path,
    *,
    now: datetime,
    activate: bool,
) -> ScoringModelRow:
    """Record a saved model in the registry (and make it the active one if `activate`).

    The training window and trained_at come from the model's metadata (`now` when it has no
    trained_at). Raises IntegrityError when the version is already registered."""
    meta = model.meta
    window = meta.training_window
    row = await repository.add(
        session,
        {
            "version": meta.version,
            "trained_at": datetime.fromisoformat(meta.trained_at) if meta.trained_at else now,
            "feature_set": meta.feature_set,
            "feature_version": meta.feature_version,
            "feature_names": list(meta.feature_names),
            "window_start": None if window is None else datetime.fromisoformat(window[0]),
            "window_end": None if window is None else datetime.fromisoformat(window[1]),
            "metrics": meta.metrics,
            "importance": meta.importance,
            "artifact_path": str(artifact_path),
        },
    )
    if activate:
        await repository.activate(session, meta.version)
        row.is_active = True
    export([row])
    return row


async def models(session: AsyncSession) -> list[ScoringModelRow]:
    """Every registered model, newest first."""
    return await repository.listed(session)


async def active(session: AsyncSession) -> ScoringModelRow | None:
    return await repository.active(session)


def export(rows: list[ScoringModelRow]) -> None:
    """Set the importance gauge of each model: its features' shares of the total gain."""
    for row in rows:
        for feature, share in importance_shares(row.importance).items():
            SCORING_FEATURE_IMPORTANCE.labels(row.version, feature).set(share)


def window(row: ScoringModelRow) -> tuple[datetime, datetime] | None:
    """The row's training window as UTC instants (SQLite returns them naive), or None."""
    if row.window_start is None or row.window_end is None:
        return None
    return as_utc(row.window_start), as_utc(row.window_end)


# --- training from the event log, and scoring every lead ---------------------------------------


class FeatureMatrixLike(Protocol):
    """What a feature provider answers (aiqleads.features.lead.FeatureMatrix has this shape):
    lead_ids (n,) int64, names (k,), values (n, k) float64."""

    @property
    def lead_ids(self) -> NDArray[np.int64]: ...
    @property
    def names(self) -> tuple[str, ...]: ...
    @property
    def values(self) -> NDArray[np.float64]: ...


# async (session, now, lead_ids or None for every lead) -> the feature matrix as known at `now`.
FeatureProvider = Callable[[AsyncSession, datetime, Sequence[int] | None], Awaitable[Any]]


def resolve_provider(spec: str) -> FeatureProvider:
    """The function named "package.module:function". Raises ValueError when it is not there."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"feature provider {spec!r}: expected package.module:function")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"feature provider {spec!r} not found: {exc}") from exc
    if not callable(found):
        raise ValueError(f"feature provider {spec!r} is not a function")
    return cast(FeatureProvider, found)


def _rows_for(matrix: FeatureMatrixLike, lead_ids: NDArray[np.int64]) -> NDArray[np.float64]:
    """The matrix's rows of `lead_ids`, in that order. Raises ValueError when some lead has
    no row."""
    index = {int(i): n for n, i in enumerate(matrix.lead_ids)}
    missing = [int(i) for i in lead_ids if int(i) not in index]
    if missing:
        raise ValueError(f"the feature provider gave no row for leads {missing[:10]}")
    values = np.asarray(matrix.values, dtype=np.float64)
    out: NDArray[np.float64] = values[[index[int(i)] for i in lead_ids]]
    return out


def _against_rules(
    labels: simulator.Labels, model: ScoringModel, rules: dict[int, float]
) -> dict[str, Any] | None:
    """The model's out-of-fold probabilities against the rule-based quality score
    (`leads.pricing.quality_score`, stored as version `rules-1`) on the labelled leads that have
    one; None when fewer than 2 such leads, or one class only. The rules' score is no
    probability: compare AUCs; its log loss and ECE say how far it is from one."""
    if model.oof is None:
        return None
    keep = [n for n, i in enumerate(labels.lead_ids) if int(i) in rules]
    y = labels.y[keep]
    if len(keep) < 2 or y.min() == y.max():
        return None
    baseline = [rules[int(labels.lead_ids[n])] for n in keep]
    report = evaluation.compare(y, model.oof[keep], baseline)
    report["baseline_version"] = RULES_VERSION
    return report


@dataclass(frozen=True, slots=True)
class Trained:
    model: ScoringModel
    path: Path
    labelled: int
    censored: int


async def train_from_log(
    sessions: async_sessionmaker[AsyncSession],
    provider: FeatureProvider,
    *,
    since: datetime,
    until: datetime,
    as_of: datetime,
    artifacts: Path,
    version: str,
    now: datetime,
    feature_set: str = "lead",
    feature_version: str = "",
    config: TrainConfig | None = None,
    activate: bool = True,
) -> Trained:
    """Label the leads from the event log in [since, until) (`simulator.labels`), take their
    features as known at `as_of` from the provider, train, save the artifact under
    `artifacts/version` and register it (active if `activate`).

    Training runs in a worker thread, outside any transaction. Raises ValueError when there is
    nothing to learn from (see `model.train`) or the provider misses a labelled lead."""
    async with transaction(sessions) as session:
        labels = await simulator.labels(session, since=since, until=until)
        matrix = await provider(session, as_of, [int(i) for i in labels.lead_ids])
        ids = [int(i) for i in labels.lead_ids]
        rules = await repository.rules_scores(session, ids, at=dict.fromkeys(ids, as_of))
    X = _rows_for(matrix, labels.lead_ids)
    model = await asyncio.to_thread(
        train,
        X,
        labels.y,
        tuple(matrix.names),
        config=config,
        version=version,
        feature_set=feature_set,
        feature_version=feature_version,
        trained_at=now,
        training_window=(since, until),
    )
    model = with_metrics(model, baseline=_against_rules(labels, model, rules))
    path = await asyncio.to_thread(model.save, artifacts / version)
    async with transaction(sessions) as session:
        await register(session, model, path, now=now, activate=activate)
    return Trained(model, path, len(labels.y), labels.censored)
