from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class PaymentEvent(Base):
    """A gateway's webhook event, stored once (its event id is unique per gateway) and
    processed once. Owned by `aiqleads.payments`."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("gateway", "event_id", name="uq_payment_events_event"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    gateway: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    payment_reference: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
