"""Live updates for the web app over a WebSocket (`/api/v1/live`).

The protocol, JSON text frames both ways:

1. The client opens the socket and, within AIQ_WEB__LIVE_AUTH_SECONDS, sends
   `{"type": "auth", "access_token": "…"}` (a browser cannot set headers on a WebSocket, and a
   token in the URL would be written to access logs). The server answers
   `{"type": "ready", "account": "<account public id>", "expires_at": …}` or closes with code
   4401 and a reason.
2. Before the access token expires the client sends a fresh one the same way (answer:
   `{"type": "renewed", "expires_at": …}`); a token of another account closes the socket
   (4403). When the token expires unrenewed the server closes with 4401 "session expired".
3. `{"type": "watch", "filters": {…}}` saves a search (the catalog's filters, as in
   `GET /api/v1/leads`; `null` stops): the server then tells of new leads matching it. A bad
   filter is answered `{"type": "error", "field": …, "reason": …}`; the socket stays open.

The server sends the account's own notices as published (`hold_expiring`, `hold_expired`,
`purchase_confirmed`; `aiqleads.notices.channels`) and, from the public `market` channel,
`leads_held` and `leads_available` with only the ids this agent may see now, and `new_leads`
for new leads matching the saved search once each is past the agent's priority window. Every id
is re-checked against the agent's visibility (`leads.service.visible_among`, the catalog's own
rule) when it is forwarded, so nothing reaches an agent that its catalog would not show.

With Redis (AIQ_REDIS_URL) notices come through Redis pub/sub, so a socket on any worker
process gets every process's notices; without it, this process's.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from aiqleads.auth import service as auth_service
from aiqleads.auth.principal import Principal
from aiqleads.auth.tokens import TokenError, TokenType, read_token
from aiqleads.deps import AppState
from aiqleads.errors import AppError
from aiqleads.leads import service as leads_service
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.schemas import LeadFilterParams
from aiqleads.leads.visibility import Viewer, viewer_for
from aiqleads.notices.channels import MARKET, account_channel
from aiqleads.notices.publisher import Subscription

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401  # no, a bad or an expired token (4000-4999: the application's)
CLOSE_OTHER_ACCOUNT = 4403  # a renewal with another account's token
MAX_PENDING = 10_000  # new leads waiting for the agent's priority window; the oldest go first
MAX_IDS = 5_000  # ids re-checked per market notice (the sweeper sends at most 1,000)
FORWARDED = ("leads_held", "leads_available")


class _Closed(Exception):
    """End the session: close the socket with this code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class _Auth:
    principal: Principal
    expires_at: datetime


def _iso(when: datetime) -> str:
    return when.isoformat()


def _ids(raw: Any) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    for value in raw if isinstance(raw, list) else []:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            out.append(uuid.UUID(str(value)))
    return out[:MAX_IDS]


class LiveSession:
    """One client's socket: authenticate, then forward notices until it closes."""

    def __init__(self, ws: WebSocket, state: AppState) -> None:
        self.ws = ws
        self.state = state
        self.auth: _Auth | None = None
        self.watch: LeadFilter | None = None
        self.pending: list[tuple[datetime, str]] = []  # heap: (visible from, lead public id)

    # --- the session ---------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the socket until the client leaves or the session ends (see the module)."""
        await self.ws.accept()
        try:
            self.auth = await self._first_auth()
            channels = [account_channel(self.auth.principal.account_id), MARKET]
            async with self.state.notices.subscribe(channels) as feed:
                await self._send(
                    {
                        "type": "ready",
                        "account": str(self.auth.principal.public_id),
                        "expires_at": _iso(self.auth.expires_at),
                    }
                )
                await self._loop(feed)
        except _Closed as closed:
            await self._close(closed.code, closed.reason)
        except WebSocketDisconnect:
            return

    async def _first_auth(self) -> _Auth:
        timeout = self.state.settings.web.live_auth_seconds
        try:
            text = await asyncio.wait_for(self.ws.receive_text(), timeout)
        except TimeoutError:
            raise _Closed(CLOSE_UNAUTHENTICATED, "authenticate first") from None
        message = self._parse(text)
        if message is None or message.get("type") != "auth":
            raise _Closed(CLOSE_UNAUTHENTICATED, "authenticate first")
        return await self._authenticate(message)

    async def _loop(self, feed: Subscription) -> None:
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=1000)
        pumps = [
            asyncio.create_task(self._pump_client(events)),
            asyncio.create_task(self._pump_feed(feed, events)),
        ]
        try:
            while True:
                try:
                    kind, payload = await asyncio.wait_for(events.get(), self._wait_seconds())
                except TimeoutError:
                    await self._on_time()
                    continue
                if kind == "gone":
                    return
                if kind == "client":
                    await self._on_client(payload)
                elif kind == "notice":
                    await self._on_notice(*payload)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    async def _pump_client(self, events: asyncio.Queue[tuple[str, Any]]) -> None:
        try:
            while True:
                await events.put(("client", await self.ws.receive_text()))
        except (WebSocketDisconnect, RuntimeError, KeyError):  # KeyError: a binary frame
            await events.put(("gone", None))

    async def _pump_feed(self, feed: Subscription, events: asyncio.Queue[tuple[str, Any]]) -> None:
        try:
            async for notice in feed:
                await events.put(("notice", notice))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the broker went away: the client reconnects
            log.warning("live notices feed ended: %s", type(exc).__name__)
            await events.put(("gone", None))

    # --- what happens ----------------------------------------------------------------------

    def _wait_seconds(self) -> float:
        assert self.auth is not None
        now = self.state.clock.now()
        deadline = self.auth.expires_at
        if self.pending:
            deadline = min(deadline, self.pending[0][0])
        return max((deadline - now).total_seconds(), 0.0)

    async def _on_time(self) -> None:
        assert self.auth is not None
        now = self.state.clock.now()
        if now >= self.auth.expires_at:
            raise _Closed(CLOSE_UNAUTHENTICATED, "session expired")
        due: list[uuid.UUID] = []
        while self.pending and self.pending[0][0] <= now:
            due.append(uuid.UUID(heapq.heappop(self.pending)[1]))
        if due and self.watch is not None:
            # Re-checked now: a lead held or gone meanwhile is not announced.
            ready, _ = await self._visible(due, self.watch)
            await self._tell("new_leads", ready, now)

    async def _on_client(self, text: str) -> None:
        message = self._parse(text)
        kind = message.get("type") if message is not None else None
        if message is None:
            await self._send({"type": "error", "reason": "send JSON objects"})
        elif kind == "auth":
            await self._renew(message)
        elif kind == "watch":
            await self._set_watch(message.get("filters"))
        elif kind == "ping":
            await self._send({"type": "pong"})
        else:
            await self._send({"type": "error", "reason": f"unknown message type {kind!r}"})

    async def _on_notice(self, channel: str, message: dict[str, Any]) -> None:
        assert self.auth is not None
        if channel != MARKET:  # the account's own channel: its notices as they are
            await self._send(message)
            return
        kind = message.get("type")
        ids = _ids(message.get("lead_ids"))
        if not ids:
            return
        now = self.state.clock.now()
        if kind in FORWARDED:
            visible, _ = await self._visible(ids, None)
            await self._tell(str(kind), visible, now)
        elif kind == "leads_published" and self.watch is not None:
            ready, later = await self._visible(ids, self.watch)
            await self._tell("new_leads", ready, now)
            for when, lead_id in later:
                heapq.heappush(self.pending, (when, str(lead_id)))
            while len(self.pending) > MAX_PENDING:
                self.pending.remove(max(self.pending))  # the furthest off go first
                heapq.heapify(self.pending)

    # --- helpers -----------------------------------------------------------------------------

    async def _authenticate(self, message: dict[str, Any]) -> _Auth:
        token = message.get("access_token")
        if not isinstance(token, str) or not token:
            raise _Closed(CLOSE_UNAUTHENTICATED, "send access_token")
        settings = self.state.settings
        now = self.state.clock.now()
        try:
            claims = read_token(settings.secret_key, token, expected=TokenType.ACCESS, now=now)
            principal = await auth_service.principal_from_access_token(
                self.state.rows_by_key, settings, token, now=now
            )
        except (TokenError, AppError) as exc:
            raise _Closed(CLOSE_UNAUTHENTICATED, _reason(exc)) from None
        return _Auth(principal, claims.expires_at)

    async def _renew(self, message: dict[str, Any]) -> None:
        assert self.auth is not None
        fresh = await self._authenticate(message)
        if fresh.principal.account_id != self.auth.principal.account_id:
            raise _Closed(CLOSE_OTHER_ACCOUNT, "a token of another account")
        self.auth = fresh
        await self._send({"type": "renewed", "expires_at": _iso(fresh.expires_at)})

    async def _set_watch(self, filters: Any) -> None:
        if filters is None:
            self.watch = None
            self.pending.clear()
            await self._send({"type": "watching", "filters": None})
            return
        try:
            if not isinstance(filters, dict):
                raise TypeError
            params = LeadFilterParams.model_validate(filters)
            self.watch = params.to_filter()
        except TypeError:
            await self._send({"type": "error", "field": "filters", "reason": "an object"})
            return
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err.get("loc", ())) or "filters"
            await self._send({"type": "error", "field": field, "reason": err.get("msg")})
            return
        except AppError as exc:
            detail = exc.detail[0] if isinstance(exc.detail, list) and exc.detail else {}
            await self._send(
                {"type": "error", "field": detail.get("field"), "reason": detail.get("reason")}
            )
            return
        self.pending.clear()
        await self._send({"type": "watching", "filters": filters})

    async def _viewer(self) -> Viewer:
        assert self.auth is not None
        principal = self.auth.principal
        async with self.state.sessions() as session:
            policy = await self.state.tiers.of(session, principal.tier)
        return viewer_for(principal, policy, self.state.clock.now())

    async def _visible(
        self, ids: list[uuid.UUID], filt: LeadFilter | None
    ) -> tuple[list[uuid.UUID], list[tuple[datetime, uuid.UUID]]]:
        viewer = await self._viewer()
        try:
            async with self.state.sessions() as session:
                return await leads_service.visible_among(session, viewer, ids, filt=filt)
        except SQLAlchemyError as exc:  # tell nothing rather than something unchecked
            log.warning("live notice not checked: %s", type(exc).__name__)
            return [], []

    async def _tell(self, kind: str, ids: list[uuid.UUID], now: datetime) -> None:
        if ids:
            await self._send({"type": kind, "lead_ids": [str(i) for i in ids], "at": _iso(now)})

    async def _send(self, message: dict[str, Any]) -> None:
        await self.ws.send_text(json.dumps(message))

    def _parse(self, text: str) -> dict[str, Any] | None:
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def _close(self, code: int, reason: str) -> None:
        if self.ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.ws.close(code=code, reason=reason)


def _reason(exc: Exception) -> str:
    text = exc.message if isinstance(exc, AppError) else str(exc)
    return text[:120]  # a close frame's reason is at most 123 bytes
