"""Opening a data file a user hands to a command as text, whether it came plain or gzipped.

Public data sets are served either way (Redfin's tracker as `.tsv000.gz`, X Education's
Leads.csv zipped or not by whoever passed it on), and their names do not always say which: the
first two bytes do (RFC 1952, section 2.3.1: ID1 = 0x1f, ID2 = 0x8b).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO

GZIP_MAGIC = b"\x1f\x8b"


def open_text(path: Path) -> IO[str]:
    """`path` as UTF-8 text with universal newlines left to the csv module (`newline=""`) and a
    byte-order mark skipped, read through gzip when its first bytes are gzip's magic number.

    Raises OSError when the file cannot be opened; content that is not UTF-8, or a corrupt or
    truncated gzip stream, raises (UnicodeDecodeError, gzip.BadGzipFile, EOFError) while
    reading, not here."""
    with path.open("rb") as raw:
        magic = raw.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return path.open(newline="", encoding="utf-8-sig")
