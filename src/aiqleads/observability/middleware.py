"""Request metrics and access logs, labelled by route template."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiqleads.observability.metrics import HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_REQUESTS

log = logging.getLogger("aiqleads.access")


def _route_template(scope: Scope) -> str:
    # The router records the matched route on the scope; unknown paths share one label, so
    # scanners cannot grow the number of series.
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): cheap on the hot path and safe with streaming."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            HTTP_IN_FLIGHT.dec()
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(elapsed)
            if status >= 500:
                log.error("request failed", extra={"route": route, "status": status})
            elif log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "request",
                    extra={"route": route, "status": status, "ms": round(elapsed * 1e3, 2)},
                )
