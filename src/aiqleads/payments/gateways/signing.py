"""Webhook signatures in Stripe's scheme, for the sandbox (and for tests that play Stripe).

The header is `t=<unix seconds>,v1=<hex>`, where the hex is HMAC-SHA256 with the webhook secret
over `"<t>." + body` (Stripe, "Check the webhook signatures", docs.stripe.com/webhooks). A header
may carry several `v1` signatures (during a secret's rotation); one matching is enough. A
signature older than the tolerance is refused, so a captured request cannot be replayed later.
The Stripe gateway verifies with `stripe.Webhook.construct_event` itself; this module lets the
sandbox sign and verify the same way without a network or a Stripe account.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from aiqleads.payments.gateways.base import InvalidSignature

SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300  # Stripe's default (stripe.Webhook.DEFAULT_TOLERANCE)


def _signature(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secret: str, *, timestamp: int) -> str:
    """The signature header value for `payload` signed at `timestamp` (unix seconds)."""
    if not secret:
        raise ValueError("a webhook secret is needed to sign")
    return f"t={timestamp},{SCHEME}={_signature(payload, secret, timestamp)}"


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str,
    *,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check `header` against `payload`; return the signed timestamp (unix seconds).

    Raises InvalidSignature when the header is missing or unreadable, no `v1` signature
    matches, or the timestamp is more than `tolerance_seconds` before `now` (as Stripe, a
    timestamp in the future is not refused: clocks differ).
    """
    if not header:
        raise InvalidSignature("no signature header")
    if not secret:
        raise InvalidSignature("no webhook secret configured")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidSignature("unreadable timestamp in signature header") from None
        elif name == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise InvalidSignature("no timestamp in signature header")
    if not signatures:
        raise InvalidSignature(f"no {SCHEME} signature in signature header")
    expected = _signature(payload, secret, timestamp).encode("ascii")
    # Compared as bytes: compare_digest refuses non-ASCII str, and the header is the sender's.
    if not any(hmac.compare_digest(expected, s.encode("utf-8")) for s in signatures):
        raise InvalidSignature("signature does not match the payload")
    if tolerance_seconds and timestamp < now.timestamp() - tolerance_seconds:
        raise InvalidSignature(f"signature is older than {tolerance_seconds} seconds")
    return timestamp
