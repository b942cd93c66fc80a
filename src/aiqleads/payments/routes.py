"""The payment gateway's webhook endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Request

from aiqleads.checkout.routes import checkout_of
from aiqleads.deps import State
from aiqleads.errors import NotFound
from aiqleads.payments import webhooks
from aiqleads.routing import SessionRoute

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/payments", tags=["payments"])


@router.post("/webhooks/{gateway}")
async def webhook(gateway: str, request: Request, state: State) -> dict[str, object]:
    """A webhook of the configured gateway (`sandbox` or `stripe`), verified by its signature
    header; 400 when it does not verify. Stored once by event id, applied once."""
    if gateway != state.gateway.name:
        raise NotFound(f"no {gateway!r} gateway is configured")
    return await webhooks.receive(checkout_of(state), await request.body(), request.headers)
