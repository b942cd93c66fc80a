"""Request metrics and access logs, labelled by route template.

One pure ASGI middleware (no BaseHTTPMiddleware: cheap on the hot path and safe with
streaming) times every HTTP request, counts it under its route template and, when access logs
are on, writes one line for it on the `aiqleads.access` logger.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from asgi_correlation_id.context import correlation_id
from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiqleads.kit.asgi_headers import add_missing, raw_headers
from aiqleads.observability.metrics import HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_REQUESTS

log = logging.getLogger("aiqleads.access")

UNMATCHED = "unmatched"
# Where a handler records who made the request (its account's public id), for the access log.
PRINCIPAL_KEY = "aiq_principal"
# Where a rate-limit check leaves the RateLimit-* headers for the answer.
RATE_LIMIT_HEADERS_KEY = "aiq_rate_limit_headers"


def _plain_route_template(app: Any, path: str, root_path: str, method: str) -> str | None:
    """The template of a plain Starlette route or mount of `app` matching the path, or None.

    FastAPI records its own APIRoutes on the scope, but not the routes Starlette serves
    itself: /docs, /openapi.json and mounted static files. They get their own templates here,
    a mount's as "{mount}/{path}", so one label covers every file under it."""
    router = getattr(app, "router", None)
    if router is None:
        return None
    probe: Scope = {"type": "http", "path": path, "root_path": root_path, "method": method}
    for route in router.routes:
        if isinstance(route, Mount):
            if route.matches(probe)[0] is not Match.NONE:
                return f"{route.path}/{{path}}"
        elif isinstance(route, Route) and route.matches(probe)[0] is not Match.NONE:
            return route.path
    return None


def route_template(scope: Scope, path: str, root_path: str) -> str:
    """The label of a request: the matched route's template, else "unmatched" (so scanners
    cannot grow the number of series). `path` and `root_path` are the scope's before routing
    (a mount rewrites them)."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if template:
        return str(template)
    return _plain_route_template(scope.get("app"), path, root_path, scope["method"]) or UNMATCHED


class MetricsMiddleware:
    """RED metrics per route template and, with `access_log`, one JSON line per request:
    method, route template, status, duration, request id and the caller's account id — never
    the raw path or query, a token or a contact."""

    def __init__(self, app: ASGIApp, *, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path, root_path = scope["path"], scope.get("root_path", "")
        # One dict shared by every copy of the scope the router makes, for handlers' notes.
        state = scope.setdefault("state", {})
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                limit_headers = state.get(RATE_LIMIT_HEADERS_KEY)
                if limit_headers:
                    add_missing(message, raw_headers(limit_headers))
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            HTTP_IN_FLIGHT.dec()
            elapsed = time.perf_counter() - start
            route = route_template(scope, path, root_path)
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(elapsed)
            if self.access_log or status >= 500:
                self._log(scope, method, route, status, elapsed)

    def _log(self, scope: Scope, method: str, route: str, status: int, elapsed: float) -> None:
        state = scope.get("state") or {}
        extra = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1e3, 2),
            "request_id": correlation_id.get(),
            "principal": state.get(PRINCIPAL_KEY),
        }
        if status >= 500:
            log.error("request failed", extra=extra)
        else:
            log.info("request", extra=extra)
