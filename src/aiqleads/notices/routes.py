"""The live-updates WebSocket; the protocol is `aiqleads.notices.live`'s."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from aiqleads.deps import AppState
from aiqleads.notices.live import LiveSession
from aiqleads.routing import SessionRoute

router = APIRouter(route_class=SessionRoute, tags=["live"])


@router.websocket("/api/v1/live")
async def live(ws: WebSocket) -> None:
    """Authenticate with a first message, then receive the account's notices and the market's,
    re-checked against the agent's visibility."""
    state: AppState = ws.app.state.aiq
    await LiveSession(ws, state).run()
