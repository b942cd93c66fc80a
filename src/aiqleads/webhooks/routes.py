"""Outbound webhooks of enterprise accounts: register, list, delete, and see deliveries."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import Row

from aiqleads.deps import CurrentPrincipal, DbSession, State
from aiqleads.routing import SessionRoute
from aiqleads.webhooks import service
from aiqleads.webhooks.schemas import (
    DeliveryList,
    DeliveryOut,
    NewWebhookOut,
    WebhookIn,
    WebhookList,
    WebhookOut,
)

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/webhooks", tags=["webhooks"])


def _out(row: Row[Any]) -> WebhookOut:
    return WebhookOut(
        id=row.public_id, url=row.url, event_types=row.event_types, created_at=row.created_at
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create(
    body: WebhookIn, principal: CurrentPrincipal, session: DbSession, state: State
) -> NewWebhookOut:
    """Register a URL for event types (`purchase.confirmed`, `hold.expiring`, `hold.expired`).
    The answer's `secret` signs every delivery and is shown only now. Enterprise accounts."""
    row, secret = await service.create(
        session,
        principal,
        settings=state.settings,
        cipher=state.cipher,
        url=body.url,
        event_types=body.event_types,
        now=state.clock.now(),
    )
    return NewWebhookOut(**_out(row).model_dump(), secret=secret)


@router.get("")
async def list_webhooks(principal: CurrentPrincipal, session: DbSession) -> WebhookList:
    """The account's webhooks (without their secrets)."""
    return WebhookList(items=[_out(r) for r in await service.list_endpoints(session, principal)])


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(
    webhook_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> Response:
    """Delete a webhook; its pending deliveries are not sent."""
    await service.delete(session, principal, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries")
async def deliveries(
    webhook_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    state: State,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> DeliveryList:
    """The webhook's deliveries, newest first: status (pending, delivered, failed: given up),
    attempts, the next attempt's time, the receiver's last HTTP status or error."""
    rows, next_cursor = await service.deliveries(
        session,
        principal,
        webhook_id,
        secret_key=state.settings.secret_key,
        cursor=cursor,
        limit=limit,
    )
    items = [
        DeliveryOut(
            id=r.public_id,
            event_id=r.event_id,
            event_type=r.event_type,
            status=r.status,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at if r.status == "pending" else None,
            last_status=r.last_status,
            last_error=r.last_error,
            created_at=r.created_at,
            delivered_at=r.delivered_at,
        )
        for r in rows
    ]
    return DeliveryList(items=items, next_cursor=next_cursor)
