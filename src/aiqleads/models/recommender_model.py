from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class RecommenderModelRow(Base):
    """A trained recommender (`aiqleads.recommend.repository` owns the table): its version
    (sent as `X-Recommender-Version` and recorded with every item served), its feature names in
    column order, the window of events its labels came from, its metrics, its artifact
    directory, and its status: `registered` (trained, never served), `serving` (at most one
    row), `retired` (served before; a rollback may return to it) or `rolled_back` (taken off by
    a rollback; never chosen again by one). `activated_at`: when it last started serving."""

    __tablename__ = "recommender_models"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    version: Mapped[str] = mapped_column(String(40), unique=True)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime)
    feature_names: Mapped[list[str]] = mapped_column(JSON)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    artifact_path: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
