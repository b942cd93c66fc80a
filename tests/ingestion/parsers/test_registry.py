from __future__ import annotations

import pytest

from aiqleads.ingestion.parsers import craigslist, zillow
from aiqleads.ingestion.parsers.registry import UnknownSourceError, available_sources, get_parser


def test_every_source_has_a_callable_parser() -> None:
    sources = available_sources()

    assert sources == sorted(sources)
    assert {"craigslist", "zillow", "redfin", "realtor", "reso", "king_county_sales"} <= set(
        sources
    )
    assert get_parser("craigslist") is craigslist.parse
    assert get_parser("zillow") is zillow.parse


def test_unknown_slug_names_itself_and_the_known_ones() -> None:
    with pytest.raises(UnknownSourceError, match="no parser for source 'trulia'; known sources: "):
        get_parser("trulia")


def test_unknown_slug_error_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        get_parser("")
