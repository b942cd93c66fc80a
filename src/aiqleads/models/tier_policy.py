from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, UTCDateTime


class TierPolicyRow(Base):
    """An admin's setting of one tier's policy. A tier without a row follows the settings
    (`AIQ_TIERS__…`, DESIGN.md section 2); `aiqleads.tiers` owns the table."""

    __tablename__ = "tier_policies"

    tier: Mapped[str] = mapped_column(String(16), primary_key=True)
    hold_minutes: Mapped[int] = mapped_column(Integer)
    hold_extensions: Mapped[int] = mapped_column(Integer)
    cart_limit: Mapped[int] = mapped_column(Integer)
    priority_delay_minutes: Mapped[int] = mapped_column(Integer)
    discount_percent: Mapped[int] = mapped_column(Integer)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer)
    bulk_limit: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
