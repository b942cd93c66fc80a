from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, UTCDateTime


class HoldNotice(Base):
    """A "hold expiring" notice sent for a hold ending at `held_until`: one per hold and end
    time, so the sweeper sends it once, and once more only if the hold is extended. Written by
    the hold sweeper (`aiqleads.cart.tasks`)."""

    __tablename__ = "hold_notices"

    hold_id: Mapped[int] = mapped_column(
        ForeignKey("holds.id", ondelete="CASCADE"), primary_key=True
    )
    held_until: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    noticed_at: Mapped[datetime] = mapped_column(UTCDateTime)
