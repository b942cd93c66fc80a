"""String enums stored as strings."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


class Tier(StrEnum):
    BASIC = "basic"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class LeadKind(StrEnum):
    FSBO = "fsbo"
    FOR_SALE = "for_sale"
    FOR_RENT = "for_rent"
    EXPIRED = "expired"
    OTHER = "other"


class LeadStatus(StrEnum):
    """The lead's place in the marketplace (DESIGN.md section 2); `leads.status` owns the rules.

    `pending` is the source's "pending / under contract": off the market for now, not sellable,
    back to `available` if the source reports the listing active again.
    """

    NEW = "new"
    AVAILABLE = "available"
    HELD = "held"
    PENDING = "pending"
    SOLD = "sold"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    RETURNED = "returned"


class GeocodePrecision(StrEnum):
    EXACT = "exact"
    ZIP_CENTROID = "zip_centroid"
    NONE = "none"
