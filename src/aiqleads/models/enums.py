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
    back to `available` if the source reports the listing active again. `withheld`: the source
    says it is on the market, but scam or spam signals passed the threshold (ingestion
    screening): off the market until an admin releases it.
    """

    NEW = "new"
    AVAILABLE = "available"
    HELD = "held"
    PENDING = "pending"
    SOLD = "sold"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    RETURNED = "returned"
    WITHHELD = "withheld"


class ListingStatus(StrEnum):
    """The source's listing status as RESO Data Dictionary 2.0 `StandardStatus`.

    Values are the lookups' display names (the `RESO.OData.Metadata.StandardName` annotation of
    `org.reso.metadata.enums.StandardStatus`; OData servers send the member names, such as
    "ActiveUnderContract"). Meanings, from the Data Dictionary: Active, on market, no offer
    accepted; Active Under Contract, an offer accepted, still on market; Pending, an offer
    accepted, no longer on market; Closed, the purchase fulfilled or the lease executed; Coming
    Soon, a contract signed, not yet on market; Hold, off market for now, expected back;
    Withdrawn, off market, the contract still in force; Expired, the contract expired; Canceled,
    the contract terminated; Delete, the contract never valid; Incomplete, not yet published.
    This is what the source says about the listing, not whether we sell the lead (LeadStatus).
    """

    ACTIVE = "Active"
    ACTIVE_UNDER_CONTRACT = "Active Under Contract"
    CANCELED = "Canceled"
    CLOSED = "Closed"
    COMING_SOON = "Coming Soon"
    DELETE = "Delete"
    EXPIRED = "Expired"
    HOLD = "Hold"
    INCOMPLETE = "Incomplete"
    PENDING = "Pending"
    WITHDRAWN = "Withdrawn"


class GeocodePrecision(StrEnum):
    EXACT = "exact"
    ZIP_CENTROID = "zip_centroid"
    NONE = "none"


class EventKind(StrEnum):
    """What the event log records (models.LeadEvent)."""

    VIEW = "view"
    HOLD = "hold"
    RELEASE = "release"
    EXTEND = "extend"
    EXPIRE = "expire"
    PURCHASE = "purchase"
    RETURN = "return"


class HoldEnd(StrEnum):
    RELEASED = "released"
    EXPIRED = "expired"
    PURCHASED = "purchased"
    LOST = "lost"  # the lead left the market (its source closed it) while held


class OrderStatus(StrEnum):
    """A checkout attempt: pending until the gateway answers; requires_action while the buyer
    must act (3-D Secure); paid (its leads sold) or failed (its holds stay until they lapse)."""

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    PAID = "paid"
    FAILED = "failed"


class LedgerKind(StrEnum):
    ORDER = "order"
    PAYMENT = "payment"
    REFUND = "refund"


class LedgerState(StrEnum):
    """A ledger transaction's states: pending → completed | failed, completed → refunded."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"


class ReturnReason(StrEnum):
    """Why a buyer returns a lead (DESIGN.md section 2, Returns)."""

    WRONG_NUMBER = "wrong_number"
    LISTED_WITH_AGENT = "listed_with_agent"  # already listed with a real-estate agent
    DUPLICATE = "duplicate"  # the buyer had this owner or home already
    OTHER = "other"


class ReturnStatus(StrEnum):
    """A return: requested → approved → refunded, or requested → rejected. `approved` while
    the refund is under way (or waits for a retry after the gateway failed)."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    REFUNDED = "refunded"


class RunOutcome(StrEnum):
    """Where an ingestion run stands (`ingestion_runs.outcome`). A run stays `running` when its
    process was killed (SIGKILL, a lost machine): nothing was left to record the end."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ExperimentStatus(StrEnum):
    """An A/B experiment's life (`aiqleads.experiments`): draft → running → stopped →
    concluded (running → concluded stops it on the way). Only a running experiment assigns
    agents and logs exposures; at most one runs per surface."""

    DRAFT = "draft"
    RUNNING = "running"
    STOPPED = "stopped"
    CONCLUDED = "concluded"
