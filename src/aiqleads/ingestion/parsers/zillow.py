"""Zillow: search page state (`cat1.searchResults.listResults`), scrapfly's search list, property
pages (`__NEXT_DATA__` → gdpClientCache → property, or that property object saved as JSON) and the
fsbo-tracker export, whose rows are all Zillow for-sale-by-owner listings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from aiqleads.ingestion.parsers._common import (
    decode_text,
    dig,
    find_emails,
    find_phones,
    join_nonblank,
    load_json,
    looks_like_json,
    mapping,
    scalar,
    text_or_none,
)
from aiqleads.ingestion.records import ParsedItem, ParseError, RawContact, RawRecord, Rejected

SOURCE = "zillow"
_SITE = "https://www.zillow.com"

_STATUS_KIND = {
    "FOR_SALE": "for_sale",
    "FOR_RENT": "for_rent",
    "RECENTLY_SOLD": "other",
    "SOLD": "other",
    "OFF_MARKET": "other",
    "PENDING": "for_sale",
    "COMING_SOON": "for_sale",
}


def parse(data: bytes) -> Iterator[ParsedItem]:
    """Parse a Zillow search state or list, a property (JSON or HTML page) or an FSBO export."""
    text = decode_text(data)
    if not looks_like_json(text):
        return iter([_property_record(_property_from_html(text))])
    doc = load_json(data)
    if isinstance(doc, Mapping):
        if isinstance(doc.get("listings"), list) and "generated_at" in doc:
            return _fsbo_tracker(doc["listings"])
        results = dig(doc, "cat1", "searchResults")
        if isinstance(results, Mapping):
            return _search_results(results)
        prop = mapping(doc.get("property")) or doc
        if _is_property(prop):
            return iter([_property_record(prop)])
    if isinstance(doc, list) and all(isinstance(r, Mapping) and "detailUrl" in r for r in doc):
        return _search_rows(doc)
    raise ParseError(
        "JSON is not a Zillow search state, search list, property or FSBO export: none of the"
        " layout markers cat1.searchResults; property.zpid with hdpUrl or homeStatus; a list"
        " of rows with detailUrl; listings with generated_at was found"
    )


# -------------------------------------------------------------------------------------- search


def _search_results(results: Mapping[str, Any]) -> Iterator[ParsedItem]:
    rows = results.get("listResults")
    if not isinstance(rows, list):
        raise ParseError("searchResults has no listResults list")
    listed = {str(r.get("zpid")) for r in rows if isinstance(r, Mapping)}
    # mapResults repeats the list rows and adds pins not on this page; keep only the extra ones.
    extra = [
        r
        for r in results.get("mapResults") or []
        if isinstance(r, Mapping) and str(r.get("zpid")) not in listed
    ]
    return _search_rows([*rows, *extra])


def _search_rows(rows: list[Any]) -> Iterator[ParsedItem]:
    for row in rows:
        if not isinstance(row, Mapping):
            yield Rejected(SOURCE, "search result is not an object", {"row": row})
            continue
        yield _search_row(row)


def _search_row(row: Mapping[str, Any]) -> ParsedItem:
    payload = dict(row)
    zpid = text_or_none(row.get("zpid"))
    if row.get("isBuilding") or (zpid is None and row.get("buildingId")):
        ref = text_or_none(row.get("buildingId"))
        reason = f"building or community summary ({row.get('unitCount')} units), not one listing"
        return Rejected(SOURCE, reason, payload, source_ref=ref)
    if zpid is None:
        return Rejected(SOURCE, "search result without zpid", payload)
    home = mapping(dig(row, "hdpData", "homeInfo"))
    card = _community_card(row, home)
    if card is not None:
        return Rejected(SOURCE, card, payload, source_ref=zpid)
    status = text_or_none(home.get("homeStatus")) or text_or_none(row.get("statusType"))
    fsbo = _fsbo_flag(home.get("listing_sub_type"), row)
    return RawRecord(
        source=SOURCE,
        source_ref=zpid,
        payload=payload,
        kind=_kind(status, fsbo),
        url=_absolute(text_or_none(row.get("detailUrl"))),
        price=_exact_price(row, home),
        bedrooms=scalar(row.get("beds", home.get("bedrooms"))),
        bathrooms=scalar(row.get("baths", home.get("bathrooms"))),
        living_area=scalar(row.get("area", home.get("livingArea"))),
        lot_area=_lot(home.get("lotAreaValue"), home.get("lotAreaUnit"))
        or scalar(row.get("lotAreaString")),
        property_type=text_or_none(home.get("homeType")),
        address=text_or_none(row.get("address")),
        street=text_or_none(row.get("addressStreet")) or text_or_none(home.get("streetAddress")),
        city=text_or_none(row.get("addressCity")) or text_or_none(home.get("city")),
        state=text_or_none(row.get("addressState")) or text_or_none(home.get("state")),
        zip_code=scalar(row.get("addressZipcode")) or scalar(home.get("zipcode")),
        latitude=scalar(dig(row, "latLong", "latitude")) or scalar(home.get("latitude")),
        longitude=scalar(dig(row, "latLong", "longitude")) or scalar(home.get("longitude")),
        listing_agent=text_or_none(row.get("info6String")),
        listing_office=text_or_none(row.get("brokerName")),
        is_fsbo=fsbo,
        status=status,
        currency=text_or_none(home.get("currency")),
        country=text_or_none(home.get("country")),
    )


# Builder cards in search results: a community ("Homes Available Soon", a from-price "$0+"), a
# plan or a spec home shown as the community's card. None is one home with an address.
_COMMUNITY_GROUPS = ("BUILDER_COMMUNITY", "COMMUNITY", "BUILDER_PLAN")


def _community_card(row: Mapping[str, Any], home: Mapping[str, Any]) -> str | None:
    group = str(home.get("group_type") or row.get("group_type") or "").upper()
    construction = str(home.get("newConstructionType") or "").upper()
    if group in _COMMUNITY_GROUPS or construction == "BUILDER_PLAN" or row.get("isCdpResult"):
        name = text_or_none(row.get("communityName")) or text_or_none(row.get("address"))
        return (
            f"builder community or plan card ({group or construction or 'community result'}: "
            f"{name!r}, price {row.get('price')!r}), not one home"
        )
    return None


def _exact_price(row: Mapping[str, Any], home: Mapping[str, Any]) -> Any:
    """The exact number when the row has one ("unformattedPrice", homeInfo.price), not the
    rounded display string ("$909K") beside it."""
    for value in (row.get("unformattedPrice"), home.get("price")):
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return value
    return scalar(row.get("price"))


# ------------------------------------------------------------------------------------ property


def _property_from_html(text: str) -> Mapping[str, Any]:
    from parsel import Selector  # imported when used: see the craigslist parser's `parse`

    raw = Selector(text=text).css("script#__NEXT_DATA__::text").get()
    if not isinstance(raw, str) or not raw.strip():
        raise ParseError("HTML has no __NEXT_DATA__ script: not a Zillow property page")
    try:
        next_data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ParseError(f"__NEXT_DATA__ is not valid JSON (truncated page?): {exc.msg}") from exc
    cache = dig(next_data, "props", "pageProps", "componentProps", "gdpClientCache")
    if isinstance(cache, str):
        try:
            cache = json.loads(cache)
        except json.JSONDecodeError as exc:
            raise ParseError(f"gdpClientCache is not valid JSON: {exc.msg}") from exc
    if isinstance(cache, Mapping):
        for entry in cache.values():
            prop = dig(entry, "property")
            if _is_property(prop):
                return prop  # type: ignore[no-any-return]
    raise ParseError("__NEXT_DATA__ holds no gdpClientCache property: not a property page")


def _is_property(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "zpid" in obj and ("hdpUrl" in obj or "homeStatus" in obj)


def _property_record(prop: Mapping[str, Any]) -> ParsedItem:
    payload = dict(prop)
    zpid = text_or_none(prop.get("zpid"))
    if zpid is None:
        return Rejected(SOURCE, "property without zpid", payload)
    address = mapping(prop.get("address"))
    info = mapping(prop.get("attributionInfo"))
    fsbo = _fsbo_flag(prop.get("listing_sub_type"), prop, prop.get("listingSubType"))
    status = text_or_none(prop.get("homeStatus"))
    street = text_or_none(address.get("streetAddress")) or text_or_none(prop.get("streetAddress"))
    city = text_or_none(address.get("city")) or text_or_none(prop.get("city"))
    state = text_or_none(address.get("state")) or text_or_none(prop.get("state"))
    zip_code = scalar(address.get("zipcode")) or scalar(prop.get("zipcode"))
    description = text_or_none(prop.get("description"))
    phones = [
        p
        for p in (
            text_or_none(info.get("agentPhoneNumber")),
            text_or_none(info.get("brokerPhoneNumber")),
        )
        if p
    ]
    phones.extend(_listed_by_phones(prop.get("listedBy")))
    phones.extend(find_phones(description))
    emails = [e for e in (text_or_none(info.get("agentEmail")),) if e] + find_emails(description)
    agent = text_or_none(info.get("agentName"))
    contact = text_or_none(dig(prop, "postingContact", "name"))
    roles = (
        ("agentPhoneNumber", "owner" if fsbo else "listing_agent"),
        ("agentEmail", "owner" if fsbo else "listing_agent"),
        ("brokerPhoneNumber", "office"),
    )
    contacts = [
        RawContact(value, role, f"field:attributionInfo.{name}")
        for name, role in roles
        if (value := text_or_none(info.get(name))) is not None
    ]
    return RawRecord(
        source=SOURCE,
        source_ref=zpid,
        payload=payload,
        kind=_kind(status, fsbo),
        description=description,
        url=_absolute(text_or_none(prop.get("hdpUrl"))),
        price=scalar(prop.get("price")),
        bedrooms=scalar(prop.get("bedrooms")),
        bathrooms=scalar(prop.get("bathrooms")),
        living_area=scalar(prop.get("livingAreaValue", prop.get("livingArea"))),
        lot_area=_lot(prop.get("lotAreaValue"), prop.get("lotAreaUnits")),
        year_built=scalar(prop.get("yearBuilt")),
        property_type=text_or_none(prop.get("homeType")),
        address=join_nonblank(street, city, join_nonblank(state, zip_code), sep=", "),
        street=street,
        city=city,
        state=state,
        zip_code=zip_code,
        latitude=scalar(prop.get("latitude")),
        longitude=scalar(prop.get("longitude")),
        listed_at=text_or_none(prop.get("datePostedString")),
        owner_name=contact if fsbo else None,
        phones=list(dict.fromkeys(phones)),
        emails=list(dict.fromkeys(emails)),
        listing_agent=None if fsbo else (agent.strip() if agent else None),
        listing_office=text_or_none(info.get("brokerName"))
        or text_or_none(prop.get("brokerageName")),
        is_fsbo=fsbo,
        status=status,
        contacts=contacts,
        poster_role="owner" if fsbo else "unknown",
        currency=text_or_none(prop.get("currency")),
        country=text_or_none(prop.get("country")),
    )


def _listed_by_phones(listed_by: Any) -> list[str]:
    if not isinstance(listed_by, list):
        return []
    found = []
    for group in listed_by:
        for element in dig(group, "elements") or []:
            if dig(element, "id") == "PHONE" and isinstance(dig(element, "text"), str):
                found.append(element["text"])
    return found


# ---------------------------------------------------------------------------------------- FSBO


def _fsbo_tracker(rows: list[Any]) -> Iterator[ParsedItem]:
    for row in rows:
        if not isinstance(row, Mapping):
            yield Rejected(SOURCE, "FSBO export row is not an object", {"row": row})
            continue
        payload = dict(row)
        ref = _zpid_from_tracker(row)
        if ref is None:
            yield Rejected(SOURCE, "FSBO export row without a Zillow id", payload)
            continue
        street = text_or_none(row.get("address"))
        city, state = text_or_none(row.get("city")), text_or_none(row.get("state"))
        zip_code = scalar(row.get("zip_code"))
        status = text_or_none(row.get("status"))
        remarks = text_or_none(row.get("remarks"))
        yield RawRecord(
            source=SOURCE,
            source_ref=ref,
            payload=payload,
            kind="expired" if status in ("gone", "expired", "removed") else "fsbo",
            description=remarks,
            url=text_or_none(row.get("zillow_url")),
            price=scalar(row.get("price")),
            bedrooms=scalar(row.get("beds")),
            bathrooms=scalar(row.get("baths")),
            living_area=scalar(row.get("sqft")),
            year_built=scalar(row.get("year_built")),
            property_type=text_or_none(row.get("property_type")),
            address=join_nonblank(street, city, join_nonblank(state, zip_code), sep=", "),
            street=street,
            city=city,
            state=state,
            zip_code=zip_code,
            latitude=scalar(row.get("latitude")),
            longitude=scalar(row.get("longitude")),
            listed_at=text_or_none(row.get("first_seen_at")),
            phones=find_phones(remarks),
            emails=find_emails(remarks),
            poster_role="owner",
            is_fsbo=True,
            status=status,
        )


def _zpid_from_tracker(row: Mapping[str, Any]) -> str | None:
    """The tracker's id is "zl-<zpid>"; keep the zpid so it matches the home on Zillow pages."""
    raw = text_or_none(row.get("id"))
    if raw and raw.startswith("zl-") and raw[3:].isdigit():
        return raw[3:]
    url = text_or_none(row.get("zillow_url")) or ""
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    if tail.endswith("_zpid") and tail[:-5].isdigit():
        return tail[:-5]
    return raw


# ------------------------------------------------------------------------------------- helpers


def _fsbo_flag(sub_type: Any, row: Mapping[str, Any], camel: Any = None) -> bool | None:
    """is_FSBO / isFSBO or by-owner status text → True; is_FSBA / isFSBA → False; else unknown."""
    flags = {**(sub_type if isinstance(sub_type, Mapping) else {})}
    if isinstance(camel, Mapping):
        flags.update({"is_FSBO": camel.get("isFSBO"), "is_FSBA": camel.get("isFSBA")})
    marketing = f"{row.get('marketingStatusSimplifiedCd') or ''} {row.get('statusText') or ''}"
    if flags.get("is_FSBO") or "by owner" in marketing.lower():
        return True
    if flags.get("is_FSBA") or "by agent" in marketing.lower():
        return False
    return None


def _kind(status: str | None, fsbo: bool | None) -> str | None:
    kind = _STATUS_KIND.get(status or "")
    if fsbo and kind in (None, "for_sale"):
        return "fsbo"
    return kind


def _lot(value: Any, unit: Any) -> str | int | float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(unit, str) and unit.lower() not in ("sqft", "square feet"):
        return f"{value} {unit}"  # acres and the like: leave the unit with the number
    return value


def _absolute(url: str | None) -> str | None:
    return f"{_SITE}{url}" if url and url.startswith("/") else url
