from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class ExperimentExposure(Base):
    """One list served to an agent under an experiment's variant (`aiqleads.experiments`):
    the leads' internal ids in the order served, when, and how long serving took (the latency
    guardrail). Append-only; outcomes are joined from `lead_events` when a report is made."""

    __tablename__ = "experiment_exposures"
    __table_args__ = (
        Index("ix_experiment_exposures_experiment_served", "experiment_id", "served_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    variant: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    lead_ids: Mapped[list[int]] = mapped_column(JSON)
    served_at: Mapped[datetime] = mapped_column(UTCDateTime)
    latency_ms: Mapped[float | None] = mapped_column(Float)
