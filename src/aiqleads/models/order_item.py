from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK


class OrderItem(Base):
    """One held lead of an order, at the price its hold fixed. `outcome` once the order is paid:
    sold, or lost (another buyer had it by then; its price is refunded)."""

    __tablename__ = "order_items"
    __table_args__ = (UniqueConstraint("order_id", "lead_id", name="uq_order_items_lead"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    outcome: Mapped[str | None] = mapped_column(String(16))
