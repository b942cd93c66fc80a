"""A source's listing status → RESO `StandardStatus` (`models.enums.ListingStatus`).

Parsers keep the source's word verbatim in `RawRecord.status`: Zillow's homeStatus/statusType
("FOR_SALE", "RECENTLY_SOLD"), the Zillow FSBO tracker's own states ("active", "gone"), Redfin's
mlsStatus / "Mls Status" (the MLS's local status, "Contingent") and rental unit status
("available", "upcoming"), Realtor.com's status ("for_sale", "sold"), and RESO feeds'
StandardStatus or, without it, MlsStatus. Each is mapped by the Data Dictionary's definitions
(see `ListingStatus`); a word nobody has mapped yet is a reason, so it is counted, not guessed.
"""

from __future__ import annotations

import re
from typing import Any

from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank
from aiqleads.models.enums import ListingStatus

# Keys are the word lower-cased with everything but letters and digits removed, so "FOR_SALE",
# "For Sale" and "for-sale" are one key, as are "Active Under Contract" and "ActiveUnderContract".
_STATUSES: dict[str, ListingStatus] = {
    # On market, no offer accepted.
    "active": ListingStatus.ACTIVE,  # RESO, Redfin, FSBO tracker
    "forsale": ListingStatus.ACTIVE,  # Zillow FOR_SALE, Realtor.com for_sale
    "forrent": ListingStatus.ACTIVE,  # Zillow FOR_RENT, Realtor.com for_rent
    "forlease": ListingStatus.ACTIVE,
    "available": ListingStatus.ACTIVE,  # Redfin rental units
    "watched": ListingStatus.ACTIVE,  # FSBO tracker: an active listing a user follows
    "readytobuild": ListingStatus.ACTIVE,  # Realtor.com: a builder's plan for sale
    "newcommunity": ListingStatus.ACTIVE,  # Realtor.com: a new-construction community
    "new": ListingStatus.ACTIVE,  # MLS local statuses that RESO maps to Active …
    "newlisting": ListingStatus.ACTIVE,
    "pricechange": ListingStatus.ACTIVE,
    "backonmarket": ListingStatus.ACTIVE,
    "reactivated": ListingStatus.ACTIVE,
    "extended": ListingStatus.ACTIVE,
    # An offer accepted, still on market (shown, taking backup offers).
    "activeundercontract": ListingStatus.ACTIVE_UNDER_CONTRACT,  # RESO
    "contingent": ListingStatus.ACTIVE_UNDER_CONTRACT,  # Redfin, Realtor.com, MLS local
    "activecontingent": ListingStatus.ACTIVE_UNDER_CONTRACT,
    "activeoptioncontract": ListingStatus.ACTIVE_UNDER_CONTRACT,  # Texas MLSs: the option period
    "activekickout": ListingStatus.ACTIVE_UNDER_CONTRACT,
    "activewithcontract": ListingStatus.ACTIVE_UNDER_CONTRACT,
    "backupoffers": ListingStatus.ACTIVE_UNDER_CONTRACT,
    "undercontractshowing": ListingStatus.ACTIVE_UNDER_CONTRACT,
    # An offer accepted, off market. A bare "under contract" says nothing of showings; MLSs
    # mostly use it as the display name of Pending.
    "pending": ListingStatus.PENDING,  # RESO, Zillow PENDING, Redfin, Realtor.com
    "undercontract": ListingStatus.PENDING,  # FSBO tracker under_contract, MLS local
    "undercontractnoshow": ListingStatus.PENDING,
    "undercontractnotshowing": ListingStatus.PENDING,
    # The sale or lease is done.
    "closed": ListingStatus.CLOSED,  # RESO, MLS local
    "sold": ListingStatus.CLOSED,  # Zillow SOLD, Realtor.com sold, Redfin, FSBO tracker
    "recentlysold": ListingStatus.CLOSED,  # Zillow RECENTLY_SOLD
    "leased": ListingStatus.CLOSED,  # RESO: "or the lease agreement has been executed"
    "rented": ListingStatus.CLOSED,
    # Not yet on market.
    "comingsoon": ListingStatus.COMING_SOON,  # RESO ComingSoon, Zillow COMING_SOON, Redfin
    "upcoming": ListingStatus.COMING_SOON,  # Redfin rental units available from a later date
    # Off market for now.
    "hold": ListingStatus.HOLD,  # RESO
    "onhold": ListingStatus.HOLD,
    "temporarilyoffmarket": ListingStatus.HOLD,
    "tempoffmarket": ListingStatus.HOLD,
    "temporarilynoshowings": ListingStatus.HOLD,
    # Off market, contract in force.
    "withdrawn": ListingStatus.WITHDRAWN,  # RESO, MLS local
    "offmarket": ListingStatus.WITHDRAWN,  # Zillow OFF_MARKET, Realtor.com off_market
    # The contract ended.
    "expired": ListingStatus.EXPIRED,  # RESO, MLS local, FSBO tracker
    # FSBO tracker: gone from Zillow past its grace period. An owner's listing has no contract
    # to expire, cancel or withdraw; "expired" is how the parser already classes these leads.
    "gone": ListingStatus.EXPIRED,
    "removed": ListingStatus.EXPIRED,
    "canceled": ListingStatus.CANCELED,  # RESO
    "cancelled": ListingStatus.CANCELED,
    "terminated": ListingStatus.CANCELED,
    "delete": ListingStatus.DELETE,  # RESO
    "deleted": ListingStatus.DELETE,
    "incomplete": ListingStatus.INCOMPLETE,  # RESO
    "draft": ListingStatus.INCOMPLETE,
}
# Words that name no status: Zillow's and Realtor.com's "OTHER", and the FSBO tracker's
# "missing" (not seen on the last crawl, within its grace period: maybe still for sale).
_SILENT = frozenset({"other", "missing", "unknown"})
_KEY_DROP_RE = re.compile(r"[^a-z0-9]+")
_MAX_KEY = 40  # longer text is a sentence, not a status word


def parse_listing_status(raw: Any) -> ListingStatus | Reason:
    """The RESO StandardStatus a source's status word means, or a reason.

    `raw` is `RawRecord.status` as the parser kept it ("FOR_SALE", "Active Under Contract",
    "ActiveUnderContract", "sold"); case, spaces and punctuation do not matter. Reasons:
    `listing_status_missing` (no status, or a word that names none: "OTHER", "missing") and
    `listing_status_unknown` (a word not in the table, kept in the detail: "'FORECLOSED'").
    """
    if is_blank(raw):
        return Reason("listing_status_missing", "")
    if not isinstance(raw, str):
        return Reason("listing_status_unknown", clip(raw))
    key = _KEY_DROP_RE.sub("", raw.casefold())
    if key in _SILENT:
        return Reason("listing_status_missing", clip(raw))
    status = _STATUSES.get(key) if len(key) <= _MAX_KEY else None
    if status is None:
        return Reason("listing_status_unknown", clip(raw))
    return status
