"""The records that flow between ingestion stages.

A parser turns the bytes of one document into `RawRecord`s (fields exactly as the source shows
them, strings or numbers, nothing cleaned) and `Rejected` items for records it could not read.
Normalization turns a `RawRecord` into a `NormalizedLead` (typed, cleaned, ready for the leads
table) or a list of reasons for the quarantine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

RawValue = str | int | float | bool | None

# Whose a contact is (DESIGN.md section 2, contact provenance). Only the owner's is sold.
CONTACT_ROLES = ("owner", "listing_agent", "office", "unknown")


@dataclass(slots=True, frozen=True)
class RawContact:
    """A phone number or e-mail address a source gives in a field that says whose it is:
    `role` is one of CONTACT_ROLES, `origin` the field ("field:OwnerPhone")."""

    value: str
    role: str
    origin: str


@dataclass(slots=True)
class RawRecord:
    """One listing as a source shows it. Every field but the first three is optional."""

    source: str
    source_ref: str
    payload: dict[str, Any]  # the record as parsed, JSON-serialisable, kept for quarantine/replay
    kind: str | None = None  # fsbo / for_sale / for_rent / expired / other, when the source says
    title: str | None = None
    description: str | None = None
    url: str | None = None
    price: RawValue = None  # "$1,149,000", 1149000, "1300"
    bedrooms: RawValue = None
    bathrooms: RawValue = None
    living_area: RawValue = None  # square feet: "642ft2", 2000
    lot_area: RawValue = None  # square feet
    year_built: RawValue = None
    property_type: str | None = None
    address: str | None = None  # one line, as shown ("9163 N.W. 26th Street, Sunrise, FL 33322")
    street: str | None = None
    unit: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: RawValue = None
    location_text: str | None = None  # free text such as "Florida Key Islamorada"
    latitude: RawValue = None
    longitude: RawValue = None
    listed_at: datetime | str | None = None
    owner_name: str | None = None
    # Phones and e-mails as found in the text (whose they are is `poster_role`'s), and those
    # the source gives in fields that say whose they are.
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    contacts: list[RawContact] = field(default_factory=list)
    # Whose contact the free text gives: "owner" where the poster is the owner or landlord (a
    # by-owner classified ad), "listing_agent" (a broker's ad), None when unknown (MLS remarks).
    poster_role: str | None = None
    listing_agent: str | None = None
    listing_office: str | None = None
    is_fsbo: bool | None = None
    status: str | None = None  # the source's own listing status, verbatim ("Closed", "FOR_SALE")
    price_period: str | None = None  # as the source says it: "weekly", "monthly", "daily", "mo"
    currency: str | None = None  # as the source says it: "USD", "CAD"
    country: str | None = None  # as the source says it: "US", "USA", "CA", "Canada"
    repost_of: str | None = None  # the source_ref of the post this one reposts


@dataclass(slots=True, frozen=True)
class Rejected:
    """A record a parser found but could not read; it goes to the quarantine with the reason."""

    source: str
    reason: str
    payload: dict[str, Any]
    source_ref: str | None = None


class ParseError(ValueError):
    """The whole document is unreadable (truncated JSON, not the expected page, empty body)."""


ParsedItem = RawRecord | Rejected
Parser = Callable[[bytes], Iterable[ParsedItem]]
StreamParser = Callable[[BinaryIO], Iterable[ParsedItem]]
