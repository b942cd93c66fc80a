from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class RecommendationImpression(Base):
    """One item of a served recommendation list (`aiqleads.recommend.repository` owns the
    table): which agent saw which lead at which rank, from which recommender version. Online
    accuracy per version joins these rows to the agent's later events on the lead."""

    __tablename__ = "recommendation_impressions"
    __table_args__ = (
        Index("ix_recommendation_impressions_account_lead", "account_id", "lead_id", "served_at"),
        Index("ix_recommendation_impressions_served_at", "served_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    model_version: Mapped[str] = mapped_column(String(40))
    rank: Mapped[int] = mapped_column(Integer)
    served_at: Mapped[datetime] = mapped_column(UTCDateTime)
