from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, UTCDateTime


class CartLock(Base):
    """One row per account, written first by every cart change of that account, so two
    requests of one agent run one after the other (a row lock on PostgreSQL; SQLite's one
    writer) and the cart limit cannot be passed by racing. Owned by `aiqleads.cart`."""

    __tablename__ = "cart_locks"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime)
