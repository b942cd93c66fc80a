"""E-mail addresses: syntax validation and normalization with email_validator, never DNS.

Deliverability checks would put network calls on the ingestion path; syntax is what we can
judge offline. Craigslist relay addresses are valid but forward to the poster and expire, so they
are flagged: they are not the owner's own address.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from email_validator import EmailNotValidError, validate_email

from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank

# RFC 5321 caps an address at 254 octets; anything longer is not worth the validator's time.
_MAX_LENGTH = 320
_RELAY_DOMAINS = ("craigslist.org",)


@dataclass(frozen=True, slots=True)
class Email:
    address: str  # normalized: domain lower-cased and IDNA-normalized, local part NFC
    is_relay: bool


def _is_relay(domain: str) -> bool:
    # Relays are per-category subdomains: hous.craigslist.org, sale.craigslist.org, …
    return any(domain.endswith("." + relay) for relay in _RELAY_DOMAINS)


@lru_cache(maxsize=65_536)
def _normalize(raw: str) -> Email | Reason:
    try:
        info = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        return Reason("email_invalid", f"{clip(raw)} ({exc})")
    return Email(info.normalized, _is_relay(info.domain.lower()))


def normalize_email(raw: Any) -> Email | Reason:
    if is_blank(raw):
        return Reason("email_missing", "")
    if not isinstance(raw, str):
        return Reason("email_invalid", clip(raw))
    text = raw.strip()
    if text.lower().startswith("mailto:"):
        text = text[7:].split("?", 1)[0]  # scraped links: "mailto:a@b.com?subject=…"
    if len(text) > _MAX_LENGTH:
        return Reason("email_invalid", f"{len(text)} characters")
    return _normalize(text)


def best_email(candidates: list[str]) -> Email | Reason | None:
    """The first owner address, preferring a non-relay one; None when there were no candidates."""
    relay: Email | None = None
    first_reason: Reason | None = None
    for candidate in candidates:
        result = normalize_email(candidate)
        if isinstance(result, Reason):
            first_reason = first_reason or result
        elif not result.is_relay:
            return result
        else:
            relay = relay or result
    return relay or first_reason
