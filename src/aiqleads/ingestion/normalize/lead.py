"""One `RawRecord` → one `NormalizedLead` (typed columns of the leads table) or the reasons why not.

A record is unusable only when it cannot be placed: no believable point, no ZIP and no street
with city and state, or evidence that it lies outside the declared metro. Every other defect
drops the field, keeps the record, and leaves a note, so the validate stage can count them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiqleads.ingestion.normalize.address import (
    ParsedAddress,
    address_key,
    normalize_city,
    normalize_state,
    normalize_street,
    normalize_unit,
    normalize_zip,
    parse_address,
)
from aiqleads.ingestion.normalize.coordinates import (
    GeocodePrecision,
    Point,
    check_coordinates,
    zip_info,
)
from aiqleads.ingestion.normalize.dates import parse_listed_at
from aiqleads.ingestion.normalize.email import Email, best_email
from aiqleads.ingestion.normalize.facts import (
    Kind,
    clean_text,
    normalize_kind,
    normalize_property_type,
    parse_bathrooms,
    parse_bedrooms,
    parse_living_area,
    parse_lot_area,
    parse_year_built,
)
from aiqleads.ingestion.normalize.money import Price, parse_price
from aiqleads.ingestion.normalize.phone import first_phone, phones_in_text
from aiqleads.ingestion.normalize.reasons import Reason
from aiqleads.ingestion.normalize.status import parse_listing_status
from aiqleads.ingestion.records import RawRecord
from aiqleads.metros import Metro, get_metro
from aiqleads.models.enums import ListingStatus

_SALE_KINDS = ("fsbo", "for_sale")


@dataclass(frozen=True, slots=True)
class NormalizedLead:
    source: str
    source_ref: str
    kind: Kind
    # What the source says of the listing (RESO StandardStatus), None when it says nothing we
    # know; the leads package decides from it whether the lead is still for sale.
    listing_status: ListingStatus | None
    title: str | None
    description: str | None
    source_url: str | None
    asking_price_cents: int | None
    currency: str
    bedrooms: int | None
    bathrooms: float | None
    living_area_sqft: int | None
    lot_sqft: int | None
    year_built: int | None
    property_type: str | None
    street_address: str | None
    unit: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    latitude: float | None
    longitude: float | None
    geocode_precision: GeocodePrecision
    owner_name: str | None
    owner_phone: str | None
    owner_email: str | None
    listing_agent: str | None
    listing_office: str | None
    listed_at: datetime | None
    address_key: str | None
    # Not a column: what was dropped or guessed ("price_missing", "coordinates_swapped"), for the
    # validate stage's counters and the quarantine report.
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class _Location:
    street: str | None = None
    unit: str | None = None
    city: str | None = None
    state: str | None = None
    zip5: str | None = None
    lat: float | None = None
    lon: float | None = None
    precision: GeocodePrecision = "none"


def _note(notes: list[str], result: object, *, quiet: tuple[str, ...] = ()) -> None:
    # "x_missing" is the normal state of an optional field; only surprises become notes.
    if (
        isinstance(result, Reason)
        and not result.code.endswith("_missing")
        and result.code not in quiet
    ):
        notes.append(str(result))


def _address_parts(record: RawRecord, loc: _Location, notes: list[str]) -> None:
    zip_result = normalize_zip(record.zip_code)
    _note(notes, zip_result)
    loc.zip5 = zip_result if isinstance(zip_result, str) else None
    loc.state = normalize_state(record.state)
    if record.state and loc.state is None:
        notes.append(str(Reason("state_unknown", repr(record.state)[:40])))
    loc.city = normalize_city(record.city)
    if record.street:
        street = normalize_street(record.street)
        _note(notes, street)
        if not isinstance(street, Reason):
            loc.street, loc.unit = street.street, street.unit
    if record.unit:
        loc.unit = normalize_unit(record.unit)
    # The one-line address costs a usaddress call, so it is read only for what the parts lack.
    if record.address and (loc.street is None or (loc.zip5 is None and loc.city is None)):
        parsed = parse_address(record.address)
        _note(notes, parsed)
        if isinstance(parsed, ParsedAddress):
            if parsed.guessed:
                notes.append(str(Reason("address_guessed", repr(record.address)[:60])))
            loc.street = loc.street or parsed.street
            loc.unit = loc.unit or parsed.unit
            loc.city = loc.city or parsed.city
            loc.state = loc.state or parsed.state
            loc.zip5 = loc.zip5 or parsed.zip5


def _locate(record: RawRecord, metro: Metro | None, notes: list[str]) -> _Location | list[str]:
    loc = _Location()
    _address_parts(record, loc, notes)
    info = zip_info(loc.zip5) if loc.zip5 else None
    if loc.zip5 and info is None:
        notes.append(str(Reason("zip_unknown", loc.zip5)))
    if info is not None:
        loc.city = loc.city or info.city
        loc.state = loc.state or info.state

    point = check_coordinates(record.latitude, record.longitude, metro=metro)
    fatal: list[str] = []
    if isinstance(point, Point):
        loc.lat, loc.lon, loc.precision = point.lat, point.lon, "exact"
        if point.swapped:
            notes.append(str(Reason("coordinates_swapped", f"({point.lon}, {point.lat})")))
        return loc
    if point.code == "coordinates_out_of_metro":
        fatal.append(str(point))
    else:
        _note(notes, point)
    if info is not None:
        if metro is not None and not metro.contains(info.lat, info.lon):
            return [*fatal, str(Reason("zip_out_of_metro", f"{loc.zip5} not in {metro.slug}"))]
        loc.lat, loc.lon, loc.precision = info.lat, info.lon, "zip_centroid"
        if fatal:  # the ZIP lies in the metro, the source's point did not: trust the ZIP
            notes.extend(fatal)
        return loc
    if fatal:
        return fatal
    if loc.zip5 is None and not (loc.street and loc.city and loc.state):
        return [str(Reason("location_missing", "no coordinates, ZIP or street with city/state"))]
    if metro is not None and loc.state is not None and loc.state != metro.state:
        return [str(Reason("state_out_of_metro", f"{loc.state} not in {metro.slug}"))]
    return loc


def _contacts(record: RawRecord, notes: list[str]) -> tuple[str | None, str | None]:
    phone = first_phone(record.phones)
    if phone is None and record.description:
        # Owners often give the number only in the text; the parser may not have looked.
        found = phones_in_text(record.description)
        phone = found[0] if found else None
    _note(notes, phone)
    email = best_email(record.emails)
    _note(notes, email)
    if isinstance(email, Email) and email.is_relay:
        notes.append(str(Reason("email_relay", email.address.rpartition("@")[2])))
    return (
        phone if isinstance(phone, str) else None,
        email.address if isinstance(email, Email) else None,
    )


def _description(raw: object) -> str | None:
    # Line breaks carry meaning in a description ("Call: …\nNo agents"), so only the ends go.
    return raw.strip() or None if isinstance(raw, str) else None


def _url(raw: str | None, notes: list[str]) -> str | None:
    text = clean_text(raw)
    if text is None:
        return None
    if not text.lower().startswith(("http://", "https://")):
        notes.append(str(Reason("url_invalid", repr(text)[:60])))
        return None
    return text


def normalize(
    record: RawRecord, *, metro: str | None = None, now: datetime
) -> NormalizedLead | list[str]:
    """Typed lead, or the reasons it cannot be one (fatal first, then the notes gathered so far).

    `metro` is the slug of the market the source was crawled for; points outside it are
    rejected. An unknown slug is a caller's bug and raises UnknownMetroError.
    """
    metro_obj = get_metro(metro) if metro is not None else None
    notes: list[str] = []
    fatal: list[str] = []
    source = clean_text(record.source)
    source_ref = clean_text(str(record.source_ref)) if record.source_ref is not None else None
    if source is None:
        fatal.append(str(Reason("source_missing", "")))
    if source_ref is None:
        fatal.append(str(Reason("source_ref_missing", "")))

    kind = normalize_kind(record.kind, is_fsbo=record.is_fsbo)
    listing_status = parse_listing_status(record.status)
    _note(notes, listing_status)
    price = parse_price(record.price)
    if isinstance(price, Price) and price.period is not None and kind == "other":
        kind = "for_rent"  # "$2,150/mo" says what the source did not
    if isinstance(price, Reason) and (price.code != "price_missing" or kind in _SALE_KINDS):
        notes.append(str(price))  # a sale lead without a price is allowed, but worth counting
    bedrooms = parse_bedrooms(record.bedrooms)
    bathrooms = parse_bathrooms(record.bathrooms)
    living = parse_living_area(record.living_area)
    lot = parse_lot_area(record.lot_area)
    year = parse_year_built(record.year_built, current_year=now.year)
    for fact in (bedrooms, bathrooms, living, lot, year):
        _note(notes, fact)

    located = _locate(record, metro_obj, notes)
    if isinstance(located, list):
        fatal.extend(located)
    if fatal or isinstance(located, list):
        return [*fatal, *notes]

    phone, email = _contacts(record, notes)
    listed_at = parse_listed_at(record.listed_at, now=now)
    _note(notes, listed_at)
    assert source is not None and source_ref is not None  # checked above with the fatal list

    return NormalizedLead(
        source=source,
        source_ref=source_ref,
        kind=kind,
        listing_status=listing_status if isinstance(listing_status, ListingStatus) else None,
        title=clean_text(record.title),
        description=_description(record.description),
        source_url=_url(record.url, notes),
        asking_price_cents=price.cents if isinstance(price, Price) else None,
        currency="USD",
        bedrooms=bedrooms if isinstance(bedrooms, int) else None,
        bathrooms=bathrooms if isinstance(bathrooms, float) else None,
        living_area_sqft=living if isinstance(living, int) else None,
        lot_sqft=lot if isinstance(lot, int) else None,
        year_built=year if isinstance(year, int) else None,
        property_type=normalize_property_type(record.property_type),
        street_address=located.street,
        unit=located.unit,
        city=located.city,
        state=located.state,
        zip_code=located.zip5,
        latitude=located.lat,
        longitude=located.lon,
        geocode_precision=located.precision,
        owner_name=clean_text(record.owner_name),
        owner_phone=phone,
        owner_email=email,
        listing_agent=clean_text(record.listing_agent),
        listing_office=clean_text(record.listing_office),
        listed_at=listed_at if isinstance(listed_at, datetime) else None,
        address_key=address_key(
            located.street,
            located.unit,
            zip5=located.zip5,
            city=located.city,
            state=located.state,
        ),
        notes=tuple(notes),
    )
