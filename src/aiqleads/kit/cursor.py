"""Opaque keyset-pagination cursors: the position after the last row, encrypted.

A cursor is AES-GCM (`cryptography`) ciphertext of a small JSON list, under a key derived from
the server's secret: a client can neither read it (it learns nothing a page did not show) nor
alter it (any change fails authentication).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12
_CONTEXT = b"aiqleads cursor v2"


class InvalidCursor(ValueError):
    pass


def _cipher(secret: str) -> AESGCM:
    # A key of its own, derived from the secret: cursors and tokens never share one.
    return AESGCM(hashlib.sha256(_CONTEXT + b"\0" + secret.encode()).digest())


def encode_cursor(secret: str, values: list[Any]) -> str:
    """The values (JSON-serialisable) as an opaque URL-safe string."""
    body = json.dumps(values, separators=(",", ":")).encode()
    nonce = os.urandom(_NONCE)
    sealed = _cipher(secret).encrypt(nonce, body, _CONTEXT)
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def decode_cursor(secret: str, cursor: str) -> list[Any]:
    """The values a cursor holds. Raises InvalidCursor when it was not issued by this server
    (another secret), was altered, or is not a cursor at all."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, binascii.Error) as exc:
        raise InvalidCursor("cursor is not valid base64") from exc
    if len(raw) <= _NONCE:
        raise InvalidCursor("cursor is too short")
    try:
        body = _cipher(secret).decrypt(raw[:_NONCE], raw[_NONCE:], _CONTEXT)
    except InvalidTag as exc:
        raise InvalidCursor("cursor was not issued by this server or was altered") from exc
    values = json.loads(body)
    if not isinstance(values, list):
        raise InvalidCursor("cursor body is not a list")
    return values
