"""CSV files an operator brings (an MLS or assessor export, a list bought elsewhere), read through
a mapping written in TOML: which column holds which lead field, in which unit and date format.

    aiqleads ingest FILE.csv --source csv --mapping MAPPING.toml
    aiqleads csv suggest FILE.csv > MAPPING.toml      # a starting mapping from the header

A mapping (every key but `source`, `ref` and `[columns]` is optional):

    source = "my_mls"              # recorded on each lead as its source (provenance)
    ref = "ListingKey"             # the column identifying a record, or a list joined by ":"
    delimiter = ","                # encoding = "utf-8" (a stray byte reads as Windows-1252)
    null_values = ["", "NA"]       # cells that mean "no value"
    has_header = true              # false: give `column_names` in file order
    date_format = "%m/%d/%Y"       # for listed_at; absent: ISO 8601 and the usual forms
    kind = "for_sale"              # a constant kind, or a column and its values' kinds:
    kind_column = "PropertyType"   # [kinds] "Residential" = "for_sale", "Lease" = "for_rent"
    poster_role = "owner"          # whose contact the text and plain phone/email columns give
    price_period = "month"         # a constant period when no column says it

    [columns]                      # lead field = "Column" or ["Column", "Column"] (joined)
    price = "ListPrice"
    owner_phone = "OwnerPhone"     # contacts: owner_/agent_/office_ + phone/email

    [units]                        # price: dollars | cents | thousands;
    living_area = "sqm"            # areas: sqft | sqm | acres

The three built-in CSV sources are such mappings (`ingestion/mappings/*.toml`). A row the
mapping cannot place (a date not in the format, a number that is none, a kind not mapped) is
quarantined with the column and the reason.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from aiqleads.ingestion.normalize.facts import normalize_kind
from aiqleads.ingestion.parsers.csv_source import ColumnRef, CsvParser
from aiqleads.ingestion.records import CONTACT_ROLES, RawContact, RawRecord

_RAW_FIELDS = {f.name for f in dataclasses.fields(RawRecord)} - {
    "source", "source_ref", "payload", "kind", "phones", "emails", "contacts", "is_fsbo",
    "poster_role",
}  # fmt: skip
# Contact columns: the role the column says, and the kind of contact.
CONTACT_FIELDS = {
    "owner_phone": "owner", "owner_email": "owner", "agent_phone": "listing_agent",
    "agent_email": "listing_agent", "office_phone": "office", "office_email": "office",
    "phone": "unknown", "email": "unknown",
}  # fmt: skip
FIELDS = frozenset(_RAW_FIELDS | set(CONTACT_FIELDS))
_PRICE_UNITS = {"dollars": 1, "cents": 0.01, "thousands": 1000}
_AREA_UNITS = {"sqft": "", "sqm": "m2", "acres": "acres"}
_KINDS = ("fsbo", "for_sale", "for_rent", "expired", "other")
_NUMBER_RE = re.compile(r"^\s*-?\$?\s*[\d,]*\.?\d+\s*$")
_KEYS = {
    "source", "ref", "delimiter", "encoding", "null_values", "has_header", "column_names",
    "date_format", "kind", "kind_column", "kinds", "poster_role", "price_period", "columns",
    "units",
}  # fmt: skip


class MappingError(ValueError):
    """A mapping file that cannot be used, with what is wrong in it."""


@dataclass(frozen=True)
class CsvMapping:
    source: str
    ref: ColumnRef
    columns: dict[str, ColumnRef]
    delimiter: str = ","
    encoding: str = "utf-8"
    null_values: frozenset[str] = frozenset({""})
    has_header: bool = True
    column_names: tuple[str, ...] | None = None
    date_format: str | None = None
    kind: str | None = None
    kind_column: str | None = None
    kinds: dict[str, str] = field(default_factory=dict)
    poster_role: str | None = None
    price_period: str | None = None
    units: dict[str, str] = field(default_factory=dict)

    def parser(self) -> CsvParser:
        plain = {f: c for f, c in self.columns.items() if f not in CONTACT_FIELDS}
        return CsvParser(
            plain,
            source=self.source,
            ref_column=self.ref,
            has_header=self.has_header,
            column_names=self.column_names,
            delimiter=self.delimiter,
            kind=self.kind,
            null_values=self.null_values,
            encoding=self.encoding,
            convert=self._convert,
            extra_columns=[
                c for f, c in self.columns.items() if f in CONTACT_FIELDS and isinstance(c, str)
            ]
            + ([self.kind_column] if self.kind_column else []),
        )

    def _convert(self, row: dict[str, str | None], fields: dict[str, Any]) -> str | None:
        """Units, dates, kinds, constants and contacts of one row; the reason, naming the
        column, when the row cannot be placed."""
        for name, unit in self.units.items():
            column = self.columns.get(name)
            value = fields.get(name)
            if value is None or not isinstance(column, str):
                continue
            if name == "price":
                if not _NUMBER_RE.match(value):
                    return f"column {column!r}: {value!r} is not a number of {unit}"
                number = float(value.replace("$", "").replace(",", ""))
                fields[name] = repr(number * _PRICE_UNITS[unit])
            elif _AREA_UNITS[unit] and _NUMBER_RE.match(value):
                fields[name] = f"{value} {_AREA_UNITS[unit]}"
        if self.date_format and fields.get("listed_at"):
            column, raw = self.columns.get("listed_at"), fields["listed_at"]
            try:
                fields["listed_at"] = datetime.strptime(raw.strip(), self.date_format).isoformat()
            except ValueError:
                wanted = self.date_format
                return f"column {column!r}: {raw!r} does not match the date format {wanted}"
        if self.kind_column:
            raw = row.get(self.kind_column)
            if self.kinds:
                kind = _lookup(self.kinds, raw)
                if kind is None:
                    known = ", ".join(sorted(self.kinds))
                    where = self.kind_column
                    return f"column {where!r}: {raw!r} is none of the mapped kinds ({known})"
                fields["kind"] = kind
            else:
                fields["kind"] = normalize_kind(raw)
        if self.price_period and not fields.get("price_period"):
            fields["price_period"] = self.price_period
        if self.poster_role:
            fields["poster_role"] = self.poster_role
        contacts = []
        for name, role in CONTACT_FIELDS.items():
            column = self.columns.get(name)
            if isinstance(column, str) and row.get(column):
                # A plain "phone" or "email" column is the poster's, as the file's text is.
                whose = (self.poster_role or "unknown") if role == "unknown" else role
                contacts.append(RawContact(str(row[column]), whose, f"field:{column}"))
        if contacts:
            fields["contacts"] = contacts
        return None


def _lookup(table: Mapping[str, str], raw: str | None) -> str | None:
    if raw is None:
        return None
    wanted = raw.strip().lower()
    return next((v for k, v in table.items() if k.strip().lower() == wanted), None)


def _ref(value: Any, where: str) -> ColumnRef:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise MappingError(f"{where}: a column name or a list of column names")


def load_mapping(text: str, *, name: str = "mapping") -> CsvMapping:
    """A mapping from TOML text. Raises MappingError saying what is wrong."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{name}: not TOML ({exc})") from None
    unknown = set(doc) - _KEYS
    if unknown:
        raise MappingError(f"{name}: unknown keys {sorted(unknown)}; known: {sorted(_KEYS)}")
    source = doc.get("source")
    if not isinstance(source, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", source):
        raise MappingError(f"{name}: source must be a slug of 1-32 characters a-z, 0-9, _")
    columns_raw = doc.get("columns")
    if not isinstance(columns_raw, dict) or not columns_raw:
        raise MappingError(f"{name}: [columns] must name at least one lead field")
    bad = sorted(set(columns_raw) - FIELDS)
    if bad:
        raise MappingError(f"{name}: [columns] {bad} are no lead fields; known: {sorted(FIELDS)}")
    columns = {k: _ref(v, f"{name}: [columns] {k}") for k, v in columns_raw.items()}
    units = doc.get("units") or {}
    for key, unit in units.items():
        allowed = _PRICE_UNITS if key == "price" else _AREA_UNITS
        if key not in ("price", "living_area", "lot_area") or unit not in allowed:
            raise MappingError(
                f"{name}: [units] {key} = {unit!r}: price takes {sorted(_PRICE_UNITS)}, "
                f"living_area and lot_area take {sorted(_AREA_UNITS)}"
            )
    kind = doc.get("kind")
    if kind is not None and kind not in _KINDS:
        raise MappingError(f"{name}: kind {kind!r} is none of {list(_KINDS)}")
    kinds = doc.get("kinds") or {}
    if any(v not in _KINDS for v in kinds.values()):
        raise MappingError(f"{name}: [kinds] values must be among {list(_KINDS)}")
    role = doc.get("poster_role")
    if role is not None and role not in CONTACT_ROLES:
        raise MappingError(f"{name}: poster_role must be one of {list(CONTACT_ROLES)}")
    has_header = bool(doc.get("has_header", True))
    names = doc.get("column_names")
    if not has_header and not (isinstance(names, list) and names):
        raise MappingError(f"{name}: a file without a header needs column_names")
    delimiter = doc.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise MappingError(f"{name}: delimiter must be one character")
    return CsvMapping(
        source=source,
        ref=_ref(doc.get("ref"), f"{name}: ref"),
        columns=columns,
        delimiter=delimiter,
        encoding=str(doc.get("encoding", "utf-8")),
        null_values=frozenset(str(v) for v in doc.get("null_values", [""])),
        has_header=has_header,
        column_names=tuple(names) if names else None,
        date_format=doc.get("date_format"),
        kind=kind,
        kind_column=doc.get("kind_column"),
        kinds=dict(kinds),
        poster_role=role,
        price_period=doc.get("price_period"),
        units=dict(units),
    )


def read_mapping(path: Path) -> CsvMapping:
    return load_mapping(path.read_text(encoding="utf-8"), name=str(path))


def builtin_mapping(slug: str) -> CsvMapping:
    """One of the mappings shipped with the package (`ingestion/mappings/<slug>.toml`)."""
    text = resources.files("aiqleads.ingestion").joinpath("mappings", f"{slug}.toml").read_text()
    return load_mapping(text, name=f"{slug}.toml")


# --- suggest -----------------------------------------------------------------------------------

# Lead field → header names that mean it: RESO Data Dictionary names first, then common ones.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "price": ("ListPrice", "price", "list_price", "asking_price", "sale_price", "rent", "amount"),
    "bedrooms": ("BedroomsTotal", "bedrooms", "beds", "bed", "br", "bedroom_count"),
    "bathrooms": ("BathroomsTotalDecimal", "BathroomsTotalInteger", "bathrooms", "baths", "ba"),
    "living_area": ("LivingArea", "sqft", "sqft_living", "square_feet", "living_area", "area"),
    "lot_area": ("LotSizeSquareFeet", "LotSizeArea", "lot_size", "sqft_lot", "lot_sqft", "lot"),
    "year_built": ("YearBuilt", "year_built", "yr_built", "built"),
    "property_type": ("PropertyType", "property_type", "home_type", "housing_type", "type"),
    "address": ("UnparsedAddress", "address", "full_address", "map_address"),
    "street": ("street_address", "street", "address1", "address_line_1"),
    "unit": ("UnitNumber", "unit", "apt", "suite"),
    "city": ("City", "city", "town"),
    "state": ("StateOrProvince", "state", "st", "province"),
    "zip_code": ("PostalCode", "zip", "zipcode", "zip_code", "postal_code", "postcode"),
    "latitude": ("Latitude", "lat", "latitude", "y"),
    "longitude": ("Longitude", "lon", "lng", "long", "longitude", "x"),
    "listed_at": (
        "ListingContractDate",
        "OnMarketDate",
        "listed_at",
        "list_date",
        "date",
        "posted",
    ),
    "title": ("title", "name", "headline"),
    "description": ("PublicRemarks", "description", "remarks", "posting_body", "body"),
    "url": ("ListingURL", "url", "link", "permalink"),
    "status": ("StandardStatus", "MlsStatus", "status", "listing_status"),
    "owner_name": ("OwnerName", "owner_name", "owner"),
    "owner_phone": ("OwnerPhone", "owner_phone"),
    "owner_email": ("OwnerEmail", "owner_email"),
    "agent_phone": ("ListAgentDirectPhone", "ListAgentPreferredPhone", "agent_phone"),
    "agent_email": ("ListAgentEmail", "agent_email"),
    "office_phone": ("ListOfficePhone", "office_phone"),
    "listing_agent": ("ListAgentFullName", "listing_agent", "agent", "agent_name"),
    "listing_office": ("ListOfficeName", "listing_office", "office", "brokerage", "broker"),
    "price_period": ("LeaseAmountFrequency", "rent_period", "price_period", "period"),
    "currency": ("ListPriceCurrency", "currency"),
    "country": ("Country", "country"),
    "repost_of": ("repost_of",),
}
_REFS = ("ListingKey", "ListingId", "id", "post_id", "listing_id", "property_id", "zpid", "mls")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def sniff(path: Path) -> tuple[list[str], str, str]:
    """The header, delimiter and encoding of a CSV file (from its first 64 KB)."""
    with path.open("rb") as f:
        head = f.read(65_536)
    if head[:2] == b"\x1f\x8b":
        import gzip

        with gzip.open(path, "rb") as g:
            head = g.read(65_536)
    try:
        text, encoding = head.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = head.decode("cp1252", errors="replace"), "cp1252"
    first = text.splitlines()[0] if text else ""
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    header = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    return [h.strip() for h in header], delimiter, encoding


def suggest(path: Path) -> str:
    """A starting mapping (TOML) for a CSV file, from its header: each lead field matched to a
    column by RESO Data Dictionary names and common synonyms. Review it before use."""
    header, delimiter, encoding = sniff(path)
    by_key = {_key(h): h for h in header}
    lines = [
        f"# A starting mapping for {path.name}, from its header: check every line.",
        f'source = "{_key(path.stem)[:32] or "my_source"}"',
    ]
    ref = next((by_key[_key(r)] for r in _REFS if _key(r) in by_key), None)
    lines.append(f"ref = {_toml(ref or (header[0] if header else 'id'))}")
    if delimiter != ",":
        lines.append(f"delimiter = {_toml(delimiter)}")
    if encoding != "utf-8":
        lines.append(f"encoding = {_toml(encoding)}")
    lines += ['kind = "for_sale"  # or kind_column = "…" with a [kinds] table', "", "[columns]"]
    used: set[str] = {ref} if ref else set()
    unmatched = []
    for lead_field, names in SYNONYMS.items():
        found = next((by_key[_key(n)] for n in names if _key(n) in by_key), None)
        if found is not None and found not in used:
            used.add(found)
            lines.append(f"{lead_field} = {_toml(found)}")
    unmatched = [h for h in header if h not in used]
    if unmatched:
        lines += ["", f"# columns not mapped: {', '.join(unmatched)}"]
    return "\n".join(lines) + "\n"


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
