"""CSV files of listings, read through a column mapping (RawRecord field → column name).

`make_csv_parser` builds a parser for any layout; the module also names the mappings for the
tabular sets we ingest (King County sales, two Craigslist rental scrapes).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator, Mapping, Sequence

from aiqleads.ingestion.parsers._common import decode_text
from aiqleads.ingestion.records import ParsedItem, ParseError, Parser, RawRecord, Rejected

ColumnRef = str | tuple[str, ...]  # a tuple joins several columns with a space ("date time")

_FIELDS = {f.name for f in dataclasses.fields(RawRecord)} - {"source", "source_ref", "payload"}
_LIST_FIELDS = {"phones", "emails"}
_BOOL_FIELDS = {"is_fsbo"}


def make_csv_parser(
    mapping: Mapping[str, ColumnRef],
    *,
    source: str,
    ref_column: ColumnRef,
    has_header: bool = True,
    column_names: Sequence[str] | None = None,
    delimiter: str = ",",
    kind: str | None = None,
    null_values: frozenset[str] = frozenset({""}),
) -> Parser:
    """A parser for one CSV layout. Cells in `null_values` count as empty ("NA", "None" …)."""
    unknown = set(mapping) - _FIELDS
    if unknown:
        raise ValueError(f"not RawRecord fields: {sorted(unknown)}")
    if unsupported := set(mapping) & (_LIST_FIELDS | _BOOL_FIELDS):
        raise ValueError(
            f"list and flag fields cannot come from one CSV cell: {sorted(unsupported)}"
        )
    if not has_header and not column_names:
        raise ValueError("a header-less CSV needs column_names")

    def parse(data: bytes) -> Iterator[ParsedItem]:
        text = decode_text(data)
        # newline="" keeps line breaks inside quoted cells, as the csv module requires.
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        rows = _rows(reader)
        header = list(column_names) if column_names else None
        if has_header:
            first = next(rows, None)
            if first is None:
                raise ParseError("CSV has no header row")
            header = header or [h.strip() for h in first[1]]
        assert header is not None  # guarded by the checks above
        missing = {c for c in _columns(ref_column, *mapping.values()) if c not in header}
        if missing:
            raise ParseError(f"CSV lacks mapped columns: {sorted(missing)}")
        return _records(rows, header)

    def _records(rows: Iterator[tuple[int, list[str]]], header: list[str]) -> Iterator[ParsedItem]:
        for line, cells in rows:
            if len(cells) != len(header):
                reason = f"line {line}: {len(cells)} columns, expected {len(header)}"
                yield Rejected(source, reason, {"line": line, "cells": cells})
                continue
            row = {
                name: (None if cell in null_values else cell)
                for name, cell in zip(header, cells, strict=True)
            }
            ref = _cell(row, ref_column, ":")
            if ref is None:
                yield Rejected(
                    source, f"line {line}: empty reference column", {"line": line, **row}
                )
                continue
            fields = {field: _cell(row, column, " ") for field, column in mapping.items()}
            yield RawRecord(source=source, source_ref=ref, payload=row, kind=kind, **fields)  # type: ignore[arg-type]

    return parse


def _rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line number each one starts on; broken quoting is a ParseError."""
    line = 0
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ParseError(f"line {start}: malformed CSV ({exc})") from exc
        line = getattr(reader, "line_num", start)
        if cells and any(c.strip() for c in cells):
            yield start, cells


def _columns(*refs: ColumnRef) -> list[str]:
    return [c for ref in refs for c in ((ref,) if isinstance(ref, str) else ref)]


def _cell(row: Mapping[str, str | None], column: ColumnRef, sep: str) -> str | None:
    if isinstance(column, str):
        return row.get(column)
    parts = [row[c] for c in column if row.get(c)]
    return sep.join(p for p in parts if p) or None


# --------------------------------------------------------------------------- named mappings

# King County house sales (Kaggle "kc_house_data"): ids repeat on resale, so id+date is the ref.
KING_COUNTY_SALES: dict[str, ColumnRef] = {
    "price": "price",
    "bedrooms": "bedrooms",
    "bathrooms": "bathrooms",
    "living_area": "sqft_living",
    "lot_area": "sqft_lot",
    "year_built": "yr_built",
    "zip_code": "zipcode",
    "latitude": "lat",
    "longitude": "long",
    "listed_at": "date",
}

# asl7168/craigslist_housing: Dallas and San Marcos rentals, geocoded.
CRAIGSLIST_ASL7168: dict[str, ColumnRef] = {
    "title": "title",
    "url": "url",
    "price": "price",
    "street": "street_address",
    "location_text": "neighborhood",
    "latitude": "latitude",
    "longitude": "longitude",
    "bedrooms": "bedrooms",
    "bathrooms": "bathrooms",
    "living_area": "sqft",
    "listed_at": "posted",
    "property_type": "housing_type",
    "description": "posting_body",
    "price_period": "rent_period",
}

# irahorecka/craigslist-housing-miner: header-less, these columns in this order.
IRAHORECKA_COLUMNS = (
    "state",
    "region",
    "sub_region",
    "category",
    "id",
    "repost_of",
    "name",
    "url",
    "date",
    "time",
    "price",
    "where",
    "has_image",
    "geotag",
    "bedrooms",
    "area",
)
CRAIGSLIST_IRAHORECKA: dict[str, ColumnRef] = {
    "title": "name",
    "url": "url",
    "price": "price",
    "location_text": "where",
    "state": "state",
    "bedrooms": "bedrooms",
    "living_area": "area",
    "listed_at": ("date", "time"),
    "repost_of": "repost_of",
}

# The file records sales and has no listing status. Our demo market presents each historical sale
# as a for-sale listing at its sale price (listed on its sale date), so `aiqleads ingest` and
# `aiqleads demo` give the same leads: kind for_sale, not other.
parse_king_county_sales = make_csv_parser(
    KING_COUNTY_SALES, source="king_county_sales", ref_column=("id", "date"), kind="for_sale"
)
parse_craigslist_asl7168 = make_csv_parser(
    CRAIGSLIST_ASL7168,
    source="craigslist",
    ref_column="post_id",
    kind="for_rent",
    null_values=frozenset({"", "NA"}),
)
parse_craigslist_irahorecka = make_csv_parser(
    CRAIGSLIST_IRAHORECKA,
    source="craigslist",
    ref_column="id",
    has_header=False,
    column_names=IRAHORECKA_COLUMNS,
    kind="for_rent",
    null_values=frozenset({"", "None"}),
)
