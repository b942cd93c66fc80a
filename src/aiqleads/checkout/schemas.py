from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from aiqleads.leads.schemas import MoneyOut
from aiqleads.models.enums import OrderStatus


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A token from the gateway's client library (card data never reaches this server); the
    # sandbox's test tokens: tok_success (the default), tok_decline, tok_requires_action,
    # tok_processing, tok_network_error, tok_success_lost_reply.
    payment_token: str | None = Field(default=None, min_length=1, max_length=255)


class OrderLine(BaseModel):
    lead_id: uuid.UUID
    price: MoneyOut
    outcome: str | None  # sold, or lost (refunded: another buyer had it first)


class OrderOut(BaseModel):
    id: uuid.UUID
    status: OrderStatus
    total: MoneyOut
    items: list[OrderLine]
    created_at: datetime
    paid_at: datetime | None
    decline_code: str | None = None
    # When the buyer must act (3-D Secure): what the gateway's client library needs.
    client_secret: str | None = None
    next_action: str | None = None


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = None
