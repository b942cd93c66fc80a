"""The sandbox signs and verifies in Stripe's scheme: checked against the stripe package."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import stripe

from aiqleads.payments.gateways import InvalidSignature
from aiqleads.payments.gateways.signing import signature_header, verify_signature

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECRET = "whsec_test"
BODY = b'{"id": "evt_1", "object": "event"}'


def test_our_header_is_the_one_stripe_computes() -> None:
    at = int(NOW.timestamp())
    ours = signature_header(BODY, SECRET, timestamp=at)
    theirs = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET, at)
    assert ours == theirs


def test_a_header_signed_by_stripe_verifies_and_names_its_time() -> None:
    at = int(NOW.timestamp())
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET, at)
    assert verify_signature(BODY, header, SECRET, now=NOW) == at


def test_any_matching_signature_is_enough_during_a_secret_rotation() -> None:
    at = int(NOW.timestamp())
    good = signature_header(BODY, SECRET, timestamp=at).split(",")[1]
    header = f"t={at},v1={'0' * 64},{good},v0=legacy"
    assert verify_signature(BODY, header, SECRET, now=NOW) == at


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no signature header"),
        ("", "no signature header"),
        ("v1=abc", "no timestamp"),
        ("t=1780315200", "no v1 signature"),
        ("t=soon,v1=abc", "unreadable timestamp"),
        ("t=1780315200,v1=abc", "does not match"),
        ("t=1780315200,v1=\u00e9\u00e9", "does not match"),
    ],
)
def test_bad_headers_are_refused_with_a_reason(header: str | None, reason: str) -> None:
    with pytest.raises(InvalidSignature, match=reason):
        verify_signature(BODY, header, SECRET, now=NOW)


def test_age_is_checked_against_the_tolerance_not_the_future() -> None:
    old = int((NOW - timedelta(seconds=301)).timestamp())
    with pytest.raises(InvalidSignature, match="older than 300"):
        verify_signature(BODY, signature_header(BODY, SECRET, timestamp=old), SECRET, now=NOW)
    edge = int((NOW - timedelta(seconds=300)).timestamp())
    assert verify_signature(BODY, signature_header(BODY, SECRET, timestamp=edge), SECRET, now=NOW)
    # A clock a little ahead of ours is not an attack (Stripe accepts it too)
    ahead = int((NOW + timedelta(seconds=30)).timestamp())
    assert verify_signature(BODY, signature_header(BODY, SECRET, timestamp=ahead), SECRET, now=NOW)


def test_no_secret_verifies_nothing() -> None:
    header = signature_header(BODY, SECRET, timestamp=int(NOW.timestamp()))
    with pytest.raises(InvalidSignature, match="no webhook secret"):
        verify_signature(BODY, header, "", now=NOW)
    with pytest.raises(ValueError, match="secret"):
        signature_header(BODY, "", timestamp=1)
