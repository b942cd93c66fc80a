"""One `RawRecord` → one `NormalizedLead` (typed columns of the leads table) or the reasons why not.

A record is unusable only when it cannot be placed: no believable point, no ZIP and no street
with city and state, or evidence that it lies outside the declared metro. Every other defect
drops the field, keeps the record, and leaves a note, so the validate stage can count them.
"""

from __future__ import annotations

import hashlib
import re
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
from aiqleads.ingestion.normalize.contacts import Contact, resolve_contacts
from aiqleads.ingestion.normalize.coordinates import (
    GeocodePrecision,
    Point,
    check_coordinates,
    zip_info,
)
from aiqleads.ingestion.normalize.dates import parse_listed_at
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
from aiqleads.ingestion.normalize.money import (
    currency_in,
    normalize_currency,
    normalize_period,
    parse_price,
    per_month,
    period_in_text,
)
from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank
from aiqleads.ingestion.normalize.status import parse_listing_status
from aiqleads.ingestion.records import RawRecord
from aiqleads.metros import Metro, get_metro
from aiqleads.models.enums import ListingStatus
from aiqleads.regions import county_of_point, county_of_zip, in_us

_SALE_KINDS = ("fsbo", "for_sale")
_US = frozenset({"US", "USA", "UNITED STATES", "UNITED STATES OF AMERICA", "U S", "U S A"})
# Cards that stand for a community, a plan or a price on request, not one home for sale.
_PLACEHOLDER_RE = re.compile(
    r"\b(?:homes?\s+available\s+soon|coming\s+soon|now\s+selling|model\s+homes?|"
    r"floor\s*plans?|plans?\s+available|to\s+be\s+built|new\s+homes?\s+community|"
    r"lots?\s+available)\b|^\s*(?:the\s+)?[\w' -]{0,40}\bplan\b",
    re.IGNORECASE,
)
_ON_REQUEST_RE = re.compile(
    r"\b(?:price\s+(?:up)?on\s+request|call\s+for\s+(?:the\s+)?price|contact\s+(?:agent\s+)?"
    r"for\s+price|price\s+tbd|request\s+price)\b",
    re.IGNORECASE,
)
_DESCRIPTION_KEY_RE = re.compile(r"[^a-z0-9]+")
# Shorter texts ("Nice 2br, call now") repeat innocently across cities.
MIN_FINGERPRINT_CHARS = 80


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
    asking_price_cents: int | None  # per month for rents
    currency: str
    price_period: str | None  # the source's: "sale", "month", "week", "year"
    listed_price_cents: int | None  # the price as the source wrote it, in its period
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
    # Every contact with its provenance; the owner_* fields are the owner's only.
    contacts: tuple[Contact, ...] = ()
    listing_agent_phone: str | None = None
    listing_agent_email: str | None = None
    listing_office_phone: str | None = None
    description_hash: str | None = None
    repost_of: str | None = None  # the source_ref this record reposts
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
        outside = _outside(point, metro)
        if outside is None:
            loc.lat, loc.lon, loc.precision = point.lat, point.lon, "exact"
            if point.swapped:
                notes.append(str(Reason("coordinates_swapped", f"({point.lon}, {point.lat})")))
            return loc
        fatal.append(str(outside))
    elif point.code == "coordinates_out_of_metro":
        fatal.append(str(point))
    else:
        _note(notes, point)
    if info is not None:
        if metro is not None and county_of_zip(metro, loc.zip5 or "") is None:
            return [*fatal, str(Reason("zip_out_of_metro", f"{loc.zip5} not in {metro.slug}"))]
        if fatal and fatal[0].startswith("outside_us"):
            return fatal  # a US ZIP on a foreign point: the point is the evidence we trust
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


def _outside(point: Point, metro: Metro | None) -> Reason | None:
    """Why a believable point is not a lead of this market: outside the metro's counties (the
    box check already ran), or with no metro declared, outside the United States."""
    if metro is not None:
        if county_of_point(metro, point.lat, point.lon) is None:
            return Reason(
                "coordinates_out_of_metro",
                f"({point.lat}, {point.lon}) not in {metro.slug} (outside its counties)",
            )
        return None
    if not in_us(point.lat, point.lon):
        return Reason("outside_us", f"({point.lat}, {point.lon}) lies outside the United States")
    return None


def _country(record: RawRecord) -> Reason | None:
    if is_blank(record.country) or not isinstance(record.country, str):
        return None
    key = " ".join(record.country.upper().replace(".", " ").split())
    return None if key in _US else Reason("outside_us", f"country {clip(record.country)}")


def _placeholder(record: RawRecord, street: str | None, price_raw: object) -> Reason | None:
    """A card that stands for a builder's community or plan, or a price on request with no
    address, is no home for sale: the text that says so is the reason's detail."""
    for text in (record.street, record.address, record.title):
        if isinstance(text, str) and _PLACEHOLDER_RE.search(text):
            return Reason("not_a_listing", f"placeholder card {clip(text)}")
    if isinstance(price_raw, str) and price_raw.strip().endswith("+"):
        return Reason("not_a_listing", f"a from-price {clip(price_raw)} (a community or plan)")
    if street is None:
        for said in (price_raw, record.title, record.description):
            if isinstance(said, str) and _ON_REQUEST_RE.search(said):
                return Reason("not_a_listing", f"price on request without an address {clip(said)}")
    return None


@dataclass(frozen=True, slots=True)
class _Money:
    kind: Kind
    cents: int | None  # per month for rents
    period: str | None
    listed_cents: int | None


def _money(record: RawRecord, kind: Kind, notes: list[str]) -> _Money | list[str]:
    """The price in cents (per month for rents), its period and currency, or fatal reasons:
    another currency than USD, a nightly rate (a short-term rental), a rent period on a sale."""
    currency = normalize_currency(record.currency) or currency_in(record.price)
    if isinstance(currency, Reason):
        return [str(currency)]
    if currency is not None and currency != "USD":
        return [str(Reason("currency_not_usd", f"{currency} {clip(record.price)}"))]
    price = parse_price(record.price)
    if isinstance(price, Reason):
        if price.code == "price_currency":
            return [str(Reason("currency_not_usd", price.detail))]
        if price.code != "price_missing" or kind in _SALE_KINDS:
            notes.append(str(price))  # a sale lead without a price is allowed, but worth counting
        return _Money(kind, None, "sale" if kind in _SALE_KINDS else None, None)
    stated = normalize_period(record.price_period)
    if isinstance(stated, Reason):
        notes.append(str(stated))
        stated = None
    period = (
        price.period
        or stated
        or period_in_text(record.title, price.cents)
        or period_in_text(record.description, price.cents)
    )
    if period in ("month", "week", "night", "year") and kind == "other":
        kind = "for_rent"  # "$2,150/mo" says what the source did not
    if kind in _SALE_KINDS or kind == "expired":
        if period not in (None, "sale"):
            return [str(Reason("price_period_conflict", f"a {period} price on a {kind} listing"))]
        return _Money(kind, price.cents, "sale", price.cents)
    if period == "sale":
        if kind == "for_rent":
            return [str(Reason("price_period_conflict", "a sale price on a rental"))]
        return _Money(kind, price.cents, "sale", price.cents)
    if period == "night":
        return [
            str(
                Reason(
                    "short_term_rental",
                    f"nightly rate ${price.cents / 100:,.2f} a night: not a monthly rent",
                )
            )
        ]
    if period is None:
        if kind != "for_rent":
            return _Money(kind, price.cents, None, price.cents)
        period = "month"  # a rent that names no period: the usual, and what the sources mean
    monthly = per_month(price.cents, period)
    if monthly.note is not None:
        notes.append(str(Reason("price_converted", monthly.note)))
    return _Money(kind, monthly.cents, period, price.cents)


def description_fingerprint(text: str | None) -> str | None:
    """A 64-bit fingerprint of a description's words (case and punctuation ignored), for
    finding the same text on listings in other cities; None for short texts."""
    if not text:
        return None
    key = _DESCRIPTION_KEY_RE.sub(" ", text.lower()).strip()
    if len(key) < MIN_FINGERPRINT_CHARS:
        return None
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


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
    abroad = _country(record)
    if abroad is not None:
        fatal.append(str(abroad))
    money = _money(record, kind, notes)
    if isinstance(money, list):
        fatal.extend(money)
    else:
        kind = money.kind
    bedrooms = parse_bedrooms(record.bedrooms)
    bathrooms = parse_bathrooms(record.bathrooms)
    living = parse_living_area(record.living_area)
    lot = parse_lot_area(record.lot_area)
    year = parse_year_built(record.year_built, current_year=now.year)
    for fact in (bedrooms, bathrooms, living, lot, year):
        _note(notes, fact)

    located = _locate(record, metro_obj, notes)
    if isinstance(located, list):
        fatal[:0] = located  # where the record is comes first: the quarantine's reason code
    else:
        placeholder = _placeholder(record, located.street, record.price)
        if placeholder is not None:
            fatal.insert(0, str(placeholder))
    if fatal or isinstance(located, list) or isinstance(money, list):
        return [*fatal, *notes]

    # Whose the text's contacts are, when the parser could not say: a by-owner listing's are
    # the owner's; anyone else's (an MLS's remarks, a broker's ad) are unknown, never sold.
    contacts = resolve_contacts(record, default_poster="owner" if kind == "fsbo" else "unknown")
    notes.extend(contacts.notes)
    owner_email = contacts.owner_email
    if owner_email is not None and owner_email.rpartition("@")[2].endswith("craigslist.org"):
        notes.append(str(Reason("email_relay", owner_email.rpartition("@")[2])))
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
        asking_price_cents=money.cents,
        currency="USD",
        price_period=money.period,
        listed_price_cents=money.listed_cents,
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
        owner_name=contacts.owner_name,
        owner_phone=contacts.owner_phone,
        owner_email=owner_email,
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
        contacts=contacts.all,
        listing_agent_phone=contacts.first("phone", "listing_agent"),
        listing_agent_email=contacts.first("email", "listing_agent"),
        listing_office_phone=contacts.first("phone", "office"),
        description_hash=description_fingerprint(_description(record.description)),
        repost_of=clean_text(record.repost_of),
        notes=tuple(notes),
    )
