from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class ScoringModelRow(Base):
    """A trained scoring model (`aiqleads.scoring.repository` owns the table): its version (what
    `leads.model_version` records for each score it made), the feature set and version it reads,
    its feature names in column order, the window of events its labels came from (None for a
    data set without time), its out-of-fold metrics, its gain importance per feature, and where
    its artifact directory is. At most one row is active: the model `aiqleads score` uses."""

    __tablename__ = "scoring_models"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    version: Mapped[str] = mapped_column(String(40), unique=True)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime)
    feature_set: Mapped[str] = mapped_column(String(40))
    feature_version: Mapped[str] = mapped_column(String(40))
    feature_names: Mapped[list[str]] = mapped_column(JSON)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    importance: Mapped[dict[str, float]] = mapped_column(JSON)
    artifact_path: Mapped[str] = mapped_column(String(1000))
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    # Each metro's (Low/Medium, Medium/High) cuts from its last full scoring run, each a rank
    # key [score, raw margin, public id] (leads.scores.territory_cuts; rows stored before issue
    # 10's tie-break hold two bare scores); a lead scored later is bucketed against them.
    territory_cuts: Mapped[dict[str, list[Any]] | None] = mapped_column(JSON)
