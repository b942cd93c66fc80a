"""Redfin: the stingray GIS search payload (as scrapfly saves it: a list of homes whose fields
are wrapped as {"value": …, "level": n}), and scrapfly's detail shapes for sale and for rent.
"""

from __future__ import annotations

import re
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
from aiqleads.ingestion.records import ParsedItem, ParseError, RawRecord, Rejected

SOURCE = "redfin"
_SITE = "https://www.redfin.com"

# Redfin's uiPropertyType codes, as used in its search filters (uipt=1…8).
_UI_PROPERTY_TYPE = {
    1: "House",
    2: "Condo",
    3: "Townhouse",
    4: "Multi-family",
    5: "Land",
    6: "Other",
    7: "Manufactured",
    8: "Co-op",
}
_HOME_ID_RE = re.compile(r"/home/(\d+)")
# Bath counts by kind, as Redfin's "Bathroom Information" lines name them.
_BATH_WEIGHTS = {"Full": 1.0, "Three Quarter": 0.75, "Half": 0.5, "Quarter": 0.25}


def parse(data: bytes) -> Iterator[ParsedItem]:
    """Parse one Redfin document (search list, for-sale details or for-rent details)."""
    doc = load_json(data)
    rows = doc if isinstance(doc, list) else [doc]
    if not rows or not all(isinstance(r, Mapping) for r in rows):
        raise ParseError("expected a JSON list of Redfin homes")
    first = rows[0]
    if "propertyId" in first and "latLong" in first:
        return _rows(rows, _search_home)
    if "propertyUrl" in first and "details" in first:
        return _rows(rows, _sale_detail)
    if "rentalId" in first and "unitTypesByBedroom" in first:
        return _rentals(rows)
    raise ParseError("JSON is not a Redfin search, for-sale or for-rent document")


def _rows(rows: list[Any], read: Any) -> Iterator[ParsedItem]:
    for row in rows:
        if not isinstance(row, Mapping):
            yield Rejected(SOURCE, "home is not an object", {"row": row})
            continue
        item: ParsedItem = read(row)
        yield item


def _value(row: Mapping[str, Any], key: str) -> Any:
    """Redfin wraps most fields as {"value": x, "level": n}; plain values are kept as they are."""
    field = row.get(key)
    return field.get("value") if isinstance(field, Mapping) else field


def _search_home(row: Mapping[str, Any]) -> ParsedItem:
    payload = dict(row)
    ref = text_or_none(row.get("propertyId"))
    if ref is None:
        return Rejected(SOURCE, "search home without propertyId", payload)
    street = text_or_none(_value(row, "streetLine"))
    city, state = text_or_none(row.get("city")), text_or_none(row.get("state"))
    zip_code = scalar(row.get("zip")) or scalar(_value(row, "postalCode"))
    status = text_or_none(row.get("mlsStatus"))
    ui_type = row.get("uiPropertyType")
    remarks = text_or_none(row.get("listingRemarks"))
    url = text_or_none(row.get("url"))
    return RawRecord(
        source=SOURCE,
        source_ref=ref,
        payload=payload,
        kind=_kind(status),
        description=remarks,
        url=f"{_SITE}{url}" if url and url.startswith("/") else url,
        price=scalar(_value(row, "price")),
        bedrooms=scalar(row.get("beds")),
        bathrooms=scalar(row.get("baths")),
        living_area=scalar(_value(row, "sqFt")),
        lot_area=scalar(_value(row, "lotSize")),
        year_built=scalar(_value(row, "yearBuilt")),
        property_type=_UI_PROPERTY_TYPE.get(ui_type) if isinstance(ui_type, int) else None,
        address=join_nonblank(street, city, join_nonblank(state, zip_code), sep=", "),
        street=street,
        unit=text_or_none(_value(row, "unitNumber")),
        city=city,
        state=state,
        zip_code=zip_code,
        location_text=text_or_none(_value(row, "location")),
        latitude=scalar(dig(_value(row, "latLong"), "latitude")),
        longitude=scalar(dig(_value(row, "latLong"), "longitude")),
        phones=find_phones(remarks),
        emails=find_emails(remarks),
        listing_agent=text_or_none(dig(row, "listingAgent", "name")),
        listing_office=text_or_none(dig(row, "listingBroker", "name")),
        status=status,
    )


def _sale_detail(row: Mapping[str, Any]) -> ParsedItem:
    payload = dict(row)
    url = text_or_none(row.get("propertyUrl"))
    match = _HOME_ID_RE.search(url or "")
    if match is None:
        return Rejected(SOURCE, "detail page without a /home/<id> URL", payload)
    features = _feature_lines(row.get("features"))
    details = [d for d in row.get("details") or [] if isinstance(d, str)]
    built = next((d for d in details if d.startswith("Built in")), None)
    lot = next((d[: -len(" lot")] for d in details if d.endswith(" lot")), None)
    status = features.get("Mls Status")
    description = text_or_none(row.get("description"))
    return RawRecord(
        source=SOURCE,
        source_ref=match.group(1),
        payload=payload,
        kind=_kind(status) or "for_sale",
        description=description,
        url=url,
        price=text_or_none(row.get("price")),
        bedrooms=features.get("# of Bedrooms"),
        bathrooms=_bath_total(features),
        living_area=features.get("Sq. Ft. Finished"),
        lot_area=lot,
        year_built=built[len("Built in ") :].split(",")[0].strip() if built else None,
        property_type=details[0] if details else None,
        address=text_or_none(row.get("address")),
        listed_at=features.get("On Market Date"),
        phones=find_phones(description),
        emails=find_emails(description),
        status=status,
    )


def _feature_lines(features: Any) -> dict[str, str]:
    """Flatten {"Bedroom Information": ["# of Bedrooms: 4", …]} into {"# of Bedrooms": "4"}."""
    flat: dict[str, str] = {}
    for lines in mapping(features).values():
        for line in lines if isinstance(lines, list) else []:
            if isinstance(line, str) and ": " in line:
                key, value = line.split(": ", 1)
                flat.setdefault(key.strip(), value.strip())
    return flat


def _bath_total(features: dict[str, str]) -> float | None:
    """Redfin lists baths by kind only ("# of Three Quarter Baths (Total): 1"): add them up."""
    total, seen = 0.0, False
    for kind, weight in _BATH_WEIGHTS.items():
        raw = features.get(f"# of {kind} Baths (Total)")
        if raw is not None and raw.replace(".", "", 1).isdigit():
            total += weight * float(raw)
            seen = True
    return total if seen else None


def _rentals(rows: list[Any]) -> Iterator[ParsedItem]:
    """One record per rentable unit; the "All" group lists every unit once."""
    for row in rows:
        rental_id = text_or_none(dig(row, "rentalId"))
        if rental_id is None:
            yield Rejected(SOURCE, "rental without rentalId", {"row": row})
            continue
        seen: set[str] = set()
        for group in dig(row, "unitTypesByBedroom") or []:
            for unit_type in dig(group, "availableUnitTypes") or []:
                for unit in dig(unit_type, "units") or []:
                    item = _rental_unit(rental_id, mapping(unit_type), mapping(unit), seen)
                    if item is not None:
                        yield item


def _rental_unit(
    rental_id: str, unit_type: Mapping[str, Any], unit: Mapping[str, Any], seen: set[str]
) -> ParsedItem | None:
    unit_id = text_or_none(unit.get("unitId"))
    payload = {"rentalId": rental_id, "unitType": unit_type.get("name"), **unit}
    if unit_id is None:
        return Rejected(SOURCE, "rental unit without unitId", payload)
    if unit_id in seen:
        return None  # the same unit again under its bedroom-count group
    seen.add(unit_id)
    full, half = unit.get("fullBaths"), unit.get("halfBaths")
    baths = full + 0.5 * half if isinstance(full, int) and isinstance(half, int) else full
    return RawRecord(
        source=SOURCE,
        source_ref=f"{rental_id}:{unit_id}",
        payload=payload,
        kind="for_rent",
        title=text_or_none(unit_type.get("name")),
        price=scalar(unit.get("rentPrice")),
        bedrooms=scalar(unit.get("bedrooms")),
        bathrooms=scalar(baths),
        living_area=scalar(unit.get("sqft")),
        unit=text_or_none(unit.get("name")),
        status=text_or_none(unit.get("status")),
    )


def _kind(status: str | None) -> str | None:
    if status is None:
        return None
    lowered = status.lower()
    if lowered in ("active", "coming soon", "pending", "contingent"):
        return "for_sale"
    if lowered in ("expired", "withdrawn", "cancelled", "canceled"):
        return "expired"
    return "other"
