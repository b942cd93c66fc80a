from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from aiqleads.leads.schemas import LeadFull, MoneyOut
from aiqleads.models.enums import ReturnReason, ReturnStatus

NOTE_MAX = 1000  # characters of a buyer's note
REJECTION_MAX = 500  # characters of an admin's reason for a rejection


class ReturnBrief(BaseModel):
    """The latest return asked for a purchase."""

    id: uuid.UUID
    status: ReturnStatus


class PurchaseOut(BaseModel):
    """A lead the buyer bought: its full record (`lead.price` is the price paid too), what was
    paid, when, in which order, until when it may be returned, and its latest return."""

    lead: LeadFull
    price_paid: MoneyOut
    purchased_at: datetime
    order_id: uuid.UUID | None
    buyer_id: uuid.UUID
    returnable_until: datetime
    return_request: ReturnBrief | None


class PurchasePage(BaseModel):
    items: list[PurchaseOut]
    next_cursor: str | None


class ReturnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead_id: uuid.UUID
    reason: ReturnReason
    note: str | None = Field(default=None, max_length=NOTE_MAX)


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Told to the buyer: at least one character that is not a space.
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=REJECTION_MAX)
    ]


class ReturnOut(BaseModel):
    """A return: `refund` is the price paid, given back when the return is refunded."""

    id: uuid.UUID
    lead_id: uuid.UUID
    buyer_id: uuid.UUID
    status: ReturnStatus
    reason: ReturnReason
    note: str | None
    refund: MoneyOut
    purchased_at: datetime
    requested_at: datetime
    decided_at: datetime | None
    rejection_reason: str | None
    refunded_at: datetime | None
    refund_reference: str | None


class ReturnPage(BaseModel):
    items: list[ReturnOut]
    next_cursor: str | None
