from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class FeatureValue(Base):
    """The feature store (`aiqleads.features` owns the table): one entity's values of one
    feature set at one version, and when they were computed. `values` maps each feature name to
    its value (floats, never NaN). A rebuild replaces the row of the same entity, set and
    version; another version keeps its own row, so a model trained on an older feature list can
    still read what it was trained on."""

    __tablename__ = "feature_values"
    __table_args__ = (
        UniqueConstraint("entity_kind", "entity_id", "feature_set", "version"),
        CheckConstraint("entity_kind IN ('lead', 'agent')", name="entity_kind"),
        Index("ix_feature_values_set_version", "feature_set", "version", "computed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    entity_kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    feature_set: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    values: Mapped[dict[str, float]] = mapped_column(JSON)
