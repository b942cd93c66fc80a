"""CSV files of listings, read through a column mapping (RawRecord field → column name).

`make_csv_parser` builds a parser for any layout; the module also names the mappings for the
tabular sets we ingest (King County sales, two Craigslist rental scrapes).
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO

from aiqleads.ingestion.records import ParsedItem, ParseError, RawRecord, Rejected

ColumnRef = str | tuple[str, ...]  # a tuple joins several columns with a space ("date time")

_FIELDS = {f.name for f in dataclasses.fields(RawRecord)} - {"source", "source_ref", "payload"}
_LIST_FIELDS = {"phones", "emails"}
_BOOL_FIELDS = {"is_fsbo"}


class CsvParser:
    """A parser for one CSV layout: called with a document's bytes, or given a binary stream
    (`stream`), which it reads a buffer at a time (memory bounded whatever the file's size)."""

    def __init__(
        self,
        mapping: Mapping[str, ColumnRef],
        *,
        source: str,
        ref_column: ColumnRef,
        has_header: bool = True,
        column_names: Sequence[str] | None = None,
        delimiter: str = ",",
        kind: str | None = None,
        null_values: frozenset[str] = frozenset({""}),
        encoding: str = "utf-8",
        convert: Callable[[dict[str, str | None], dict[str, Any]], str | None] | None = None,
        extra_columns: Sequence[str] = (),
    ) -> None:
        unknown = set(mapping) - _FIELDS
        if unknown:
            raise ValueError(f"not RawRecord fields: {sorted(unknown)}")
        if unsupported := set(mapping) & (_LIST_FIELDS | _BOOL_FIELDS):
            raise ValueError(
                f"list and flag fields cannot come from one CSV cell: {sorted(unsupported)}"
            )
        if not has_header and not column_names:
            raise ValueError("a header-less CSV needs column_names")
        self.mapping = dict(mapping)
        self.source = source
        self.ref_column = ref_column
        self.has_header = has_header
        self.column_names = list(column_names) if column_names else None
        self.delimiter = delimiter
        self.kind = kind
        self.null_values = null_values
        self.encoding = encoding
        # Turns a row's fields (units, dates, constants) and says why it cannot, naming the
        # column; see `ingestion.mapping`.
        self.convert = convert
        self.extra_columns = tuple(extra_columns)  # read by `convert`, so they must exist

    def __call__(self, data: bytes) -> Iterator[ParsedItem]:
        return self.stream(io.BytesIO(data))

    def stream(self, raw: BinaryIO) -> Iterator[ParsedItem]:
        """The records of a CSV stream, read as they are needed (a generator: a ParseError for
        a missing header or column comes at the first record)."""
        text = io.TextIOWrapper(raw, encoding=_codec(self.encoding), errors=_FALLBACK, newline="")
        try:
            # newline="" keeps line breaks inside quoted cells, as the csv module requires.
            reader = csv.reader(text, delimiter=self.delimiter, strict=True)
            rows = _rows(reader)
            header = list(self.column_names) if self.column_names else None
            if self.has_header:
                first = next(rows, None)
                if first is None:
                    raise ParseError("CSV has no header row (or the file is empty)")
                header = header or [h.strip().lstrip("\ufeff") for h in first[1]]
            assert header is not None  # guarded in __init__
            columns = _columns(self.ref_column, *self.mapping.values(), *self.extra_columns)
            missing = {c for c in columns if c not in header}
            if missing:
                raise ParseError(f"CSV lacks mapped columns: {sorted(missing)}")
            yield from self._records(rows, header)
        finally:
            text.detach() if not text.closed else None  # the caller owns (and closes) `raw`

    def _records(
        self, rows: Iterator[tuple[int, list[str]]], header: list[str]
    ) -> Iterator[ParsedItem]:
        source, null_values = self.source, self.null_values
        for line, cells in rows:
            if len(cells) != len(header):
                reason = f"line {line}: {len(cells)} columns, expected {len(header)}"
                yield Rejected(source, reason, {"line": line, "cells": cells})
                continue
            row = {
                name: (None if cell in null_values else cell)
                for name, cell in zip(header, cells, strict=True)
            }
            ref = _cell(row, self.ref_column, ":")
            if ref is None:
                yield Rejected(
                    source, f"line {line}: empty reference column", {"line": line, **row}
                )
                continue
            fields: dict[str, Any] = {
                field: _cell(row, column, " ") for field, column in self.mapping.items()
            }
            if self.kind is not None and "kind" not in self.mapping:
                fields["kind"] = self.kind
            if self.convert is not None:
                problem = self.convert(row, fields)
                if problem is not None:
                    yield Rejected(source, f"line {line}: {problem}", {"line": line, **row}, ref)
                    continue
            yield RawRecord(source=source, source_ref=ref, payload=row, **fields)


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
) -> CsvParser:
    """A parser for one CSV layout. Cells in `null_values` count as empty ("NA", "None" …)."""
    return CsvParser(
        mapping,
        source=source,
        ref_column=ref_column,
        has_header=has_header,
        column_names=column_names,
        delimiter=delimiter,
        kind=kind,
        null_values=null_values,
    )


def _fallback_to_cp1252(exc: UnicodeError) -> tuple[str, int]:
    """A byte that is not UTF-8 is read as Windows-1252, as `decode_text` does: scraper outputs
    mix encodings, and one bad byte must not cost the whole file."""
    assert isinstance(exc, UnicodeDecodeError)
    bad = exc.object[exc.start : exc.end]
    return bytes(bad).decode("cp1252", errors="replace"), exc.end


_FALLBACK = "aiqleads-cp1252-fallback"
codecs.register_error(_FALLBACK, _fallback_to_cp1252)


def _codec(encoding: str) -> str:
    # utf-8-sig drops a byte-order mark at the start and is utf-8 otherwise.
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


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


# The built-in CSV sources are mappings like any an operator brings: ingestion/mappings/*.toml.
IRAHORECKA_COLUMNS = (
    "state", "region", "sub_region", "category", "id", "repost_of", "name", "url", "date",
    "time", "price", "where", "has_image", "geotag", "bedrooms", "area",
)  # fmt: skip
