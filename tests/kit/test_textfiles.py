"""Data files handed to commands, read as text whether plain or gzipped."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from aiqleads.kit.textfiles import open_text

TEXT = "\ufeffRegionName,2024-01\r\nSeattle,812000\r\n"


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_a_file_reads_as_the_same_text_plain_or_gzipped_with_its_bom_skipped(
    tmp_path: Path, packed: bool
) -> None:
    # Given the same UTF-8 text with a byte-order mark, plain and gzipped, under a name that
    # does not say which (what users pass on is often renamed)
    path = tmp_path / "series.csv"
    raw = TEXT.encode("utf-8")
    path.write_bytes(gzip.compress(raw) if packed else raw)
    # When it is opened
    with open_text(path) as stream:
        text = stream.read()
    # Then it reads as the text, without the mark and with its line ends left for csv
    assert text == TEXT.removeprefix("\ufeff")


def test_bytes_that_are_not_utf8_fail_on_reading_with_the_decoders_error(tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    path.write_bytes(b"PK\x03\x04\xff\xfe")
    with open_text(path) as stream, pytest.raises(UnicodeDecodeError):
        stream.read()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gzip.compress(TEXT.encode() * 100)[:30])
    with open_text(cut) as stream, pytest.raises(EOFError):
        stream.read()
