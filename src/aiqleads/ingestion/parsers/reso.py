"""RESO Web API (OData) Property responses, read by Data Dictionary field names, and the Spark API
(FBS) native listings envelope `{"D": {"Results": [{"StandardFields": …}]}}`.

Paging is the caller's business: `next_link` exposes `@odata.nextLink`, nothing is fetched here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from aiqleads.ingestion.parsers._common import (
    dig,
    find_emails,
    find_phones,
    join_nonblank,
    load_json,
    scalar,
    text_or_none,
)
from aiqleads.ingestion.records import ParsedItem, ParseError, RawContact, RawRecord, Rejected

SOURCE = "reso"

# StandardStatus lookup values (Data Dictionary 2.0) → our kind; leases are handled apart.
_STATUS_KIND = {
    "Active": "for_sale",
    "ActiveUnderContract": "for_sale",
    "Active Under Contract": "for_sale",
    "ComingSoon": "for_sale",
    "Coming Soon": "for_sale",
    "Pending": "for_sale",
    "Expired": "expired",
    "Withdrawn": "expired",
    "Canceled": "expired",
    "Cancelled": "expired",
    "Closed": "other",
    "Hold": "other",
    "Delete": "other",
    "Incomplete": "other",
}
_LEASE_TYPES = ("ResidentialLease", "Residential Lease", "CommercialLease", "Commercial Lease")
# Data Dictionary contact fields and whose they are. The owner's are rare in feeds (most MLSs
# withhold them) but sold when present; the listing agent's and office's are listing-agent data.
_CONTACT_FIELDS = (
    ("OwnerPhone", "owner"),
    ("OwnerMobilePhone", "owner"),
    ("OwnerEmail", "owner"),
    ("ListAgentDirectPhone", "listing_agent"),
    ("ListAgentPreferredPhone", "listing_agent"),
    ("ListAgentMobilePhone", "listing_agent"),
    ("ListAgentCellPhone", "listing_agent"),
    ("ListAgentEmail", "listing_agent"),
    ("ListAgentOfficePhone", "office"),
    ("ListOfficePhone", "office"),
    ("ListOfficeEmail", "office"),
    ("CoListAgentDirectPhone", "listing_agent"),
    ("CoListAgentEmail", "listing_agent"),
)


def parse(data: bytes) -> Iterator[ParsedItem]:
    """Parse one OData Property page (`value[]`) or one Spark listings response."""
    doc = load_json(data)
    if isinstance(doc, Mapping) and isinstance(doc.get("value"), list):
        return _records(doc["value"], "OData")
    results = dig(doc, "D", "Results")
    if isinstance(results, list):
        if dig(doc, "D", "Success") is False:
            raise ParseError(f"Spark API reported failure: {dig(doc, 'D', 'Message')}")
        return _records([_spark_fields(r) for r in results], "Spark")
    if isinstance(doc, Mapping) and "error" in doc:
        raise ParseError(f"RESO server error response: {dig(doc, 'error', 'message')}")
    raise ParseError("JSON is neither an OData `value` page nor a Spark `D.Results` response")


def next_link(data: bytes) -> str | None:
    """The `@odata.nextLink` of a page (the URL of the next page), or None on the last page."""
    doc = load_json(data)
    return text_or_none(doc.get("@odata.nextLink")) if isinstance(doc, Mapping) else None


def _spark_fields(result: Any) -> Any:
    """Spark puts the RESO-like fields under StandardFields and uses its own names for a few."""
    fields = dig(result, "StandardFields")
    if not isinstance(fields, Mapping):
        return result
    renamed = {"BedsTotal": "BedroomsTotal", "BathsTotal": "BathroomsTotalDecimal"}
    out = {renamed.get(k, k): v for k, v in fields.items()}
    out.setdefault("LivingArea", fields.get("BuildingAreaTotal"))
    out.setdefault("ListingKey", dig(result, "Id"))
    return out


def _records(rows: list[Any], flavour: str) -> Iterator[ParsedItem]:
    for row in rows:
        if not isinstance(row, Mapping):
            yield Rejected(SOURCE, f"{flavour} record is not an object", {"row": row})
            continue
        yield _record(row)


def _record(row: Mapping[str, Any]) -> ParsedItem:
    payload = dict(row)
    ref = text_or_none(row.get("ListingKey")) or text_or_none(row.get("ListingKeyNumeric"))
    if ref is None:
        return Rejected(SOURCE, "Property record without ListingKey", payload)
    status = text_or_none(row.get("StandardStatus")) or text_or_none(row.get("MlsStatus"))
    property_type = text_or_none(row.get("PropertyType"))
    street = _street(row)
    unit = text_or_none(row.get("UnitNumber"))
    city, state = text_or_none(row.get("City")), text_or_none(row.get("StateOrProvince"))
    zip_code = scalar(row.get("PostalCode"))
    remarks = text_or_none(row.get("PublicRemarks"))
    agent = text_or_none(row.get("ListAgentFullName")) or join_nonblank(
        row.get("ListAgentFirstName"), row.get("ListAgentLastName")
    )
    contacts = [
        RawContact(value, role, f"field:{name}")
        for name, role in _CONTACT_FIELDS
        if (value := text_or_none(row.get(name))) is not None
    ]
    one_line = text_or_none(row.get("UnparsedAddress")) or join_nonblank(
        join_nonblank(street, f"#{unit}" if unit else None),
        city,
        join_nonblank(state, zip_code),
        sep=", ",
    )
    return RawRecord(
        source=SOURCE,
        source_ref=ref,
        payload=payload,
        kind=_kind(status, property_type),
        description=remarks,
        price=scalar(row.get("ListPrice")),
        bedrooms=scalar(row.get("BedroomsTotal")),
        bathrooms=_bathrooms(row),
        living_area=scalar(row.get("LivingArea")),
        lot_area=_lot_area(row),
        year_built=scalar(row.get("YearBuilt")),
        property_type=property_type,
        address=one_line,
        street=street,
        unit=unit,
        city=city,
        state=state,
        zip_code=zip_code,
        latitude=scalar(row.get("Latitude")),
        longitude=scalar(row.get("Longitude")),
        listed_at=(
            text_or_none(row.get("OriginalEntryTimestamp"))
            or text_or_none(row.get("ListingContractDate"))
            or text_or_none(row.get("ModificationTimestamp"))
        ),
        owner_name=text_or_none(row.get("OwnerName")),
        # Remarks are the listing agent's words: numbers in them are not known to be the owner's.
        phones=find_phones(remarks),
        emails=find_emails(remarks),
        contacts=contacts,
        poster_role="unknown",
        listing_agent=agent,
        listing_office=text_or_none(row.get("ListOfficeName")),
        status=status,
        currency=text_or_none(row.get("ListPriceCurrency")),
        country=text_or_none(row.get("Country")),
        price_period=_lease_period(row) if kind_is_lease(property_type) else None,
    )


def kind_is_lease(property_type: str | None) -> bool:
    return property_type in _LEASE_TYPES


def _lease_period(row: Mapping[str, Any]) -> str | None:
    """RESO LeaseAmountFrequency ("Monthly", "Weekly", "Annually"…) when the feed sends it."""
    return text_or_none(row.get("LeaseAmountFrequency")) or text_or_none(row.get("RentFrequency"))


def _street(row: Mapping[str, Any]) -> str | None:
    return join_nonblank(
        row.get("StreetNumber"),
        row.get("StreetDirPrefix"),
        row.get("StreetName"),
        row.get("StreetSuffix"),
        row.get("StreetDirSuffix"),
    )


def _bathrooms(row: Mapping[str, Any]) -> Any:
    """Prefer a stated total; else full + half/2 when the MLS only sends the parts."""
    for key in ("BathroomsTotalDecimal", "BathroomsTotalInteger"):
        if row.get(key) is not None:
            return scalar(row.get(key))
    full, half = row.get("BathroomsFull"), row.get("BathroomsHalf")
    if isinstance(full, int | float) and not isinstance(full, bool):
        return full + (0.5 * half if isinstance(half, int | float) else 0)
    return None


def _lot_area(row: Mapping[str, Any]) -> Any:
    if row.get("LotSizeSquareFeet") is not None:
        return scalar(row.get("LotSizeSquareFeet"))
    area, units = row.get("LotSizeArea"), text_or_none(row.get("LotSizeUnits"))
    if area is not None:
        return f"{area} {units}" if units and units != "Square Feet" else scalar(area)
    acres = row.get("LotSizeAcres")
    return f"{acres} Acres" if isinstance(acres, int | float) and acres else None


def _kind(status: str | None, property_type: str | None) -> str | None:
    kind = _STATUS_KIND.get(status or "")
    if kind == "for_sale" and property_type in _LEASE_TYPES:
        return "for_rent"
    return kind
