"""Realtor.com, as scrapfly saves it: the search result list and the property detail object."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from aiqleads.ingestion.parsers._common import (
    dig,
    find_emails,
    find_phones,
    join_nonblank,
    load_json,
    mapping,
    scalar,
    text_or_none,
)
from aiqleads.ingestion.records import ParsedItem, ParseError, RawContact, RawRecord, Rejected

SOURCE = "realtor"
_SITE = "https://www.realtor.com/realestateandhomes-detail/"

_STATUS_KIND = {
    "for_sale": "for_sale",
    "ready_to_build": "for_sale",
    "for_rent": "for_rent",
    "sold": "other",
    "off_market": "other",
    "pending": "for_sale",
    "contingent": "for_sale",
}


def parse(data: bytes) -> Iterator[ParsedItem]:
    """Parse a Realtor.com search list (property_id rows) or one property (id + list_price)."""
    doc = load_json(data)
    if (
        isinstance(doc, list)
        and doc
        and all(isinstance(r, Mapping) for r in doc)
        and "property_id" in doc[0]
    ):
        return (_search_row(r) for r in doc)
    if isinstance(doc, Mapping) and "id" in doc and "location" in doc and "list_price" in doc:
        return iter([_property(doc)])
    raise ParseError("JSON is not a Realtor.com search list or property")


def _search_row(row: Mapping[str, Any]) -> ParsedItem:
    payload = dict(row)
    ref = text_or_none(row.get("property_id"))
    if ref is None:
        return Rejected(SOURCE, "search row without property_id", payload)
    desc = mapping(row.get("description"))
    address = mapping(dig(row, "location", "address"))
    street, city = text_or_none(address.get("line")), text_or_none(address.get("city"))
    state, zip_code = text_or_none(address.get("state")), scalar(address.get("postal_code"))
    permalink = text_or_none(row.get("permalink"))
    status = text_or_none(row.get("status"))
    return RawRecord(
        source=SOURCE,
        source_ref=ref,
        payload=payload,
        # Search results are homes for sale unless the row says otherwise (rentals and sold
        # homes are other searches, whose rows carry their status).
        kind=_STATUS_KIND.get(status or "for_sale"),
        status=status,
        url=f"{_SITE}{permalink}" if permalink else None,
        price=scalar(row.get("list_price")),
        bedrooms=scalar(desc.get("beds")),
        bathrooms=scalar(desc.get("baths")),
        living_area=scalar(desc.get("sqft")),
        lot_area=scalar(desc.get("lot_size")),
        property_type=text_or_none(desc.get("type")),
        address=join_nonblank(street, city, join_nonblank(state, zip_code), sep=", "),
        street=street,
        city=city,
        state=state,
        zip_code=zip_code,
        latitude=scalar(dig(address, "coordinate", "lat")),
        longitude=scalar(dig(address, "coordinate", "lon")),
    )


def _property(doc: Mapping[str, Any]) -> ParsedItem:
    payload = dict(doc)
    ref = text_or_none(doc.get("id"))
    if ref is None:
        return Rejected(SOURCE, "property without id", payload)
    details = mapping(doc.get("details"))
    address = mapping(dig(doc, "location", "address"))
    street, city = text_or_none(address.get("line")), text_or_none(address.get("city"))
    state = text_or_none(address.get("state_code")) or text_or_none(address.get("state"))
    zip_code = scalar(address.get("postal_code"))
    agents = [a for a in doc.get("agent") or [] if isinstance(a, Mapping)]
    seller = next((a for a in agents if a.get("type") == "seller"), agents[0] if agents else {})
    office = mapping(dig(_seller_advertiser(doc), "office"))
    text = text_or_none(details.get("text"))
    contacts = [
        RawContact(value, role, f"field:{name}")
        for name, role, value in (
            ("agent.agent_phone", "listing_agent", text_or_none(seller.get("agent_phone"))),
            ("agent.agent_email", "listing_agent", text_or_none(seller.get("agent_email"))),
            ("agent.office_phone", "office", text_or_none(seller.get("office_phone"))),
        )
        if value is not None
    ]
    phones = [p for p in (text_or_none(seller.get("agent_phone")),) if p]
    phones += [p["number"] for p in doc.get("phones") or [] if isinstance(dig(p, "number"), str)]
    phones += find_phones(text)
    emails = [e for e in (text_or_none(seller.get("agent_email")),) if e] + find_emails(text)
    status = text_or_none(doc.get("status"))
    return RawRecord(
        source=SOURCE,
        source_ref=ref,
        payload=payload,
        kind=_STATUS_KIND.get(status or ""),
        description=text,
        url=text_or_none(doc.get("url")),
        price=scalar(doc.get("list_price")),
        bedrooms=scalar(details.get("beds")),
        bathrooms=scalar(details.get("baths_consolidated") or details.get("baths_total")),
        living_area=scalar(details.get("sqft")),
        lot_area=scalar(details.get("lot_sqft")),
        year_built=scalar(details.get("year_built")),
        property_type=text_or_none(details.get("type")),
        address=join_nonblank(street, city, join_nonblank(state, zip_code), sep=", "),
        street=street,
        unit=text_or_none(address.get("unit")),
        city=city,
        state=state,
        zip_code=zip_code,
        latitude=scalar(dig(address, "coordinate", "lat")),
        longitude=scalar(dig(address, "coordinate", "lon")),
        listed_at=text_or_none(doc.get("list_date")),
        phones=list(dict.fromkeys(phones)),
        emails=list(dict.fromkeys(emails)),
        listing_agent=text_or_none(seller.get("agent_name")),
        listing_office=text_or_none(seller.get("office_name")) or text_or_none(office.get("name")),
        status=status,
        contacts=contacts,
        poster_role="unknown",
    )


def _seller_advertiser(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    for advertiser in doc.get("advertisers") or []:
        if dig(advertiser, "type") == "seller":
            return mapping(advertiser)
    return {}
