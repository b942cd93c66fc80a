"""Which statuses a lead can be in, which of them are on the market, and how a source's listing
status (RESO StandardStatus) becomes the lead's status."""

from __future__ import annotations

from aiqleads.models.enums import LeadStatus

ON_MARKET = (LeadStatus.AVAILABLE, LeadStatus.HELD)
# The supply penetration and competition count: on the market now, or sold on it.
OFFERED = (*ON_MARKET, LeadStatus.SOLD)
# Statuses an agent may ask for; "sold" means the leads this agent bought.
AGENT_STATUSES = frozenset({*ON_MARKET, LeadStatus.SOLD})

# RESO Data Dictionary 2.0, StandardStatus lookup → the lead's status. Absent values (and
# "Incomplete", an MLS draft) say nothing about the market, so the stored status stays.
_FROM_LISTING: dict[str, LeadStatus] = {
    "Active": LeadStatus.AVAILABLE,
    "Coming Soon": LeadStatus.AVAILABLE,
    "Active Under Contract": LeadStatus.PENDING,
    "Pending": LeadStatus.PENDING,
    "Hold": LeadStatus.WITHDRAWN,
    "Withdrawn": LeadStatus.WITHDRAWN,
    "Delete": LeadStatus.WITHDRAWN,
    "Closed": LeadStatus.SOLD,
    "Expired": LeadStatus.EXPIRED,
    "Canceled": LeadStatus.EXPIRED,
}


def status_for_listing(listing_status: str | None) -> LeadStatus | None:
    """The lead status a source's listing status calls for, or None when it says nothing.

    Closed → sold (not sellable); Pending and Active Under Contract → pending (not sellable for
    now); Expired and Canceled → expired; Withdrawn, Hold and Delete → withdrawn; Active and
    Coming Soon → available. A lead some buyer already bought keeps its status whatever the
    source says later (`leads.writes` enforces that in SQL).
    """
    if listing_status is None:
        return None
    return _FROM_LISTING.get(str(listing_status))
