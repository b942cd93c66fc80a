from __future__ import annotations

from collections.abc import Callable

import pytest

from aiqleads.ingestion.parsers import realtor
from aiqleads.ingestion.records import ParseError, RawRecord, Rejected

Reader = Callable[[str], bytes]
SCRAPFLY = "scrapfly"


def test_search_gives_126_rows(listing_fixture: Reader) -> None:
    items = list(realtor.parse(listing_fixture(f"{SCRAPFLY}/realtorcom_search.json")))

    assert len(items) == 126
    first = items[0]
    assert isinstance(first, RawRecord)
    assert (first.source_ref, first.price) == ("9375099153", 899000)
    assert first.address == "2238 Market St Unit 306, San Francisco, CA 94114"
    assert (first.bedrooms, first.bathrooms, first.living_area) == (1, 1, 714)
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert all(r.reason == "search row without property_id" for r in rejected)


def test_property_gives_agent_name_and_phone(listing_fixture: Reader) -> None:
    (prop,) = realtor.parse(listing_fixture(f"{SCRAPFLY}/realtorcom_property.json"))

    assert isinstance(prop, RawRecord)
    assert prop.address == "12355 Attlee Dr, Houston, TX 77077"
    assert prop.price == 345000
    assert prop.listing_agent == "Feras Rachid"
    assert prop.phones[0] == "8553279361"
    assert prop.listing_office == "Opendoor Brokerage, LLC"
    assert (prop.latitude, prop.longitude) == (29.749552, -95.600417)
    assert (prop.status, prop.kind) == ("sold", "other")


def test_sitemap_feed_is_not_a_listing_document(listing_fixture: Reader) -> None:
    with pytest.raises(ParseError, match=r"not a Realtor\.com"):
        list(realtor.parse(listing_fixture(f"{SCRAPFLY}/realtorcom_feed.json")))


@pytest.mark.parametrize("data", [b"", b'[{"property_id": "1"', b"{}", b"[]", b'"text"'])
def test_bad_documents_are_parse_errors(data: bytes) -> None:
    with pytest.raises(ParseError):
        list(realtor.parse(data))
