"""Slices of the bundled King County sales as ingestion documents, in the layout the source
sends or in a changed one."""

from __future__ import annotations

import gzip

from aiqleads.ingestion.documents import Document
from aiqleads.sample.sources import KING_COUNTY_SALES


def kc_csv(
    start: int,
    stop: int,
    *,
    renamed: dict[str, str] | None = None,
    blank: tuple[str, ...] = (),
) -> str:
    """The header and data lines start..stop (0-based) of the file, as the source sends them
    or changed: `renamed` renames header columns, `blank` empties columns in every row."""
    with gzip.open(KING_COUNTY_SALES, "rt", encoding="utf-8") as f:
        header = next(f)
        rows = [line for i, line in zip(range(stop), f, strict=False) if i >= start]
    columns = header.rstrip("\n").split(",")
    emptied = [columns.index(name) for name in blank]
    if emptied:
        cut = []
        for row in rows:
            cells = row.rstrip("\n").split(",")
            for i in emptied:
                cells[i] = ""
            cut.append(",".join(cells) + "\n")
        rows = cut
    for old, new in (renamed or {}).items():
        columns[columns.index(old)] = new
    return ",".join(columns) + "\n" + "".join(rows)


def kc_document(
    start: int, stop: int, *, renamed: dict[str, str] | None = None, blank: tuple[str, ...] = ()
) -> Document:
    body = kc_csv(start, stop, renamed=renamed, blank=blank).encode()
    return Document("kc.csv", "king_county_sales", body)


# The source stops filling its coordinates: leads fall back to their ZIP's centroid.
NO_COORDINATES = ("lat", "long")
# The source renames its coordinate columns: the mapping no longer reads the file, which goes
# to the quarantine whole.
RENAMED_COORDINATES = {"lat": "latitude", "long": "longitude"}
