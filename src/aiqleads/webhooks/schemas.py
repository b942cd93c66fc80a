"""Webhook shapes: the event types, the endpoint in and out, a delivery."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class WebhookEvent(StrEnum):
    """The events an endpoint may subscribe to, and the `data` each one carries:

    * `purchase.confirmed`: what checkout passes to `emit` (the order and its leads).
    * `hold.expiring`: `{"lead_id", "held_until", "minutes_left"}`, once per hold (and again
      after an extension) when less than AIQ_WORKER__HOLD_EXPIRING_MINUTES are left.
    * `hold.expired`: `{"lead_id", "reason": "expired" | "lost", "ended_at"}`.
    """

    PURCHASE_CONFIRMED = "purchase.confirmed"
    HOLD_EXPIRING = "hold.expiring"
    HOLD_EXPIRED = "hold.expired"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # next attempt at `next_attempt_at`
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # given up after the last attempt


class WebhookIn(BaseModel):
    url: str = Field(
        max_length=2048,
        # Stated, not enforced by pydantic: the URL check says why a URL is refused.
        json_schema_extra={"pattern": r"^https?://\S+$"},
        description="https://… (http:// only to a loopback address, outside production)",
    )
    event_types: list[WebhookEvent] = Field(min_length=1, max_length=len(WebhookEvent))


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[WebhookEvent]
    created_at: datetime


class NewWebhookOut(WebhookOut):
    secret: str = Field(
        description="Signs every delivery (see README, 'Webhooks'). Shown only now: keep it."
    )


class WebhookList(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None = None


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: str
    event_type: WebhookEvent
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None = Field(description="the receiver's HTTP status at the last attempt")
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = None
