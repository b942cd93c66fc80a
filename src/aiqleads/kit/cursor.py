"""Opaque keyset-pagination cursors: the sort values of the last row, signed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


class InvalidCursor(ValueError):
    pass


def encode_cursor(secret: str, values: list[Any]) -> str:
    body = json.dumps(values, separators=(",", ":"), default=str).encode()
    mac = hmac.new(secret.encode(), body, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(mac + body).decode().rstrip("=")


def decode_cursor(secret: str, cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("cursor is not valid base64") from exc
    mac, body = raw[:12], raw[12:]
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()[:12]
    if not hmac.compare_digest(mac, expected):
        raise InvalidCursor("cursor was not issued by this server or was altered")
    try:
        values = json.loads(body)
    except ValueError as exc:
        raise InvalidCursor("cursor body is not JSON") from exc
    if not isinstance(values, list):
        raise InvalidCursor("cursor body is not a list")
    return values
