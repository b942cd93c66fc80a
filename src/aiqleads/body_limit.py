"""A ceiling on request bodies: a body longer than `max_bytes` is answered 413 with the error
shape, before any handler parses it.

A declared `Content-Length` over the ceiling is refused at once; a body sent without one
(chunked) is read here first, counted as it arrives and refused when the count passes the
ceiling, so no handler ever reads more than `max_bytes` of it.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiqleads.errors import ErrorCode, error_body


class BodyLimitMiddleware:
    """Refuses HTTP request bodies over `max_bytes` (bytes, > 0) with a 413 `payload_too_large`
    error naming the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        body = error_body(
            f"the request body is over {self.max_bytes} bytes",
            ErrorCode.PAYLOAD_TOO_LARGE,
            [{"field": "body", "reason": f"at most {self.max_bytes} bytes"}],
        )
        raw = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(raw)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared_length: int | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared_length = int(value)
                except ValueError:
                    declared_length = 0  # the server refuses a malformed length before us
                if declared_length > self.max_bytes:
                    await self._refuse(send)
                    return
        if declared_length is not None:
            # The server holds the body to its declared length (HTTP/1.1 framing).
            await self.app(scope, receive, send)
            return
        # No length: read the body up to the ceiling before the application sees any of it,
        # then hand it over as one message. (A handler's own reading cannot be interrupted:
        # FastAPI turns any error while reading into a 400.)
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)
