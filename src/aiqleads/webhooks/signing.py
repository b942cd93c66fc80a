"""How deliveries are signed, in Stripe's scheme (docs.stripe.com/webhooks, "Verify webhook
signatures"): the header `AIQ-Signature: t=<unix seconds>,v1=<hex>`, where the hex is
HMAC-SHA256 keyed with the endpoint's secret over `"<t>." + body` (the raw request body bytes).

A receiver recomputes the HMAC over the body it received, compares it in constant time with
each `v1` value, and refuses a `t` older than its tolerance (5 minutes is usual), so a captured
request cannot be replayed later. `verify` here is the reference implementation (tests use it).
It is the same scheme as the payment sandbox's webhooks (`payments.gateways.signing`), whose
code this reuses.
"""

from __future__ import annotations

from datetime import datetime

from aiqleads.payments.gateways.base import InvalidSignature
from aiqleads.payments.gateways.signing import signature_header, verify_signature

HEADER = "AIQ-Signature"

__all__ = ["HEADER", "InvalidSignature", "signature_header", "verify"]


def verify(
    body: bytes, header: str | None, secret: str, *, now: datetime, tolerance_seconds: int = 300
) -> int:
    """Check a delivery's signature header against its body; returns the signed timestamp.
    Raises InvalidSignature when it does not match or is older than `tolerance_seconds`."""
    return verify_signature(body, header, secret, now=now, tolerance_seconds=tolerance_seconds)
