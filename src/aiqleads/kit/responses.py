"""A JSON answer whose body is already encoded."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class JSONBytes(JSONResponse):
    """`application/json` with the bytes given, sent as they are.

    For hot routes that encode their answer once (or take it from a cache): declared as the
    route's `response_class` beside its `response_model`, the schema stays documented (FastAPI
    documents the model for JSON response classes only) while FastAPI, handed a Response,
    neither validates nor serialises the answer again."""

    def render(self, content: Any) -> bytes:
        """`content` as it is when it is bytes already, else JSON-encoded as JSONResponse does."""
        if isinstance(content, bytes):
            return content
        return super().render(content)
