from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from aiqleads.leads.schemas import LeadPreview, MoneyOut

MAX_IDS = 10_000  # a request larger than any tier's bulk limit is refused whole (422)


class Refusal(StrEnum):
    """Why one lead of a hold request was not held."""

    HELD_BY_OTHER = "held_by_other"
    SOLD = "sold"
    NOT_VISIBLE_YET = "not_visible_yet"
    CART_LIMIT_REACHED = "cart_limit_reached"
    BULK_LIMIT_EXCEEDED = "bulk_limit_exceeded"
    NOT_FOUND = "not_found"
    # all_or_nothing: this lead could have been held, but another of the request could not
    NOT_ALL_HELD = "not_all_held"


class HoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_IDS)
    all_or_nothing: StrictBool = False  # true or false, not 0 or "yes"


class HoldResult(BaseModel):
    lead_id: uuid.UUID
    held: bool
    held_until: datetime | None = None
    price: MoneyOut | None = None  # fixed when the hold was taken: what checkout charges
    refused: Refusal | None = None


class HoldAnswer(BaseModel):
    items: list[HoldResult]
    held: int
    refused: int


class CartHold(BaseModel):
    lead: LeadPreview
    price: MoneyOut
    held_until: datetime
    extensions_left: int


class Cart(BaseModel):
    items: list[CartHold]
    total: MoneyOut
    cart_limit: int
