from __future__ import annotations

import pytest

from aiqleads.ingestion.parsers._common import decode_text, find_phones, load_json
from aiqleads.ingestion.records import ParseError


def test_stray_cp1252_byte_is_kept_as_its_character() -> None:
    assert decode_text(b"REALTORS\xae \xe2\x9c\xb1") == "REALTORS® ✱"


def test_phones_are_found_as_written() -> None:
    text = "Call 305.467.6348 /  786.484.0917 or (281)336-9159, not 1,149,000.00 or 20141013"

    assert find_phones(text) == ["305.467.6348", "786.484.0917", "(281)336-9159"]


def test_deeply_nested_json_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        load_json(b"[" * 100_000)
