from __future__ import annotations

import gzip
from collections.abc import Callable

import pytest

from aiqleads.ingestion.parsers import redfin
from aiqleads.ingestion.records import ParseError, RawRecord, Rejected
from aiqleads.sample.sources import SAMPLE_DATA

Reader = Callable[[str], bytes]
SCRAPFLY = "scrapfly"


def test_search_gives_89_seattle_homes_with_agent() -> None:
    # given scrapfly's Redfin search results, bundled in the package for the demo
    data = gzip.decompress((SAMPLE_DATA / "redfin_seattle_search.json.gz").read_bytes())

    items = list(redfin.parse(data))

    assert len(items) == 89 and all(isinstance(i, RawRecord) for i in items)
    first = items[0]
    assert isinstance(first, RawRecord)
    assert first.source_ref == "46456"
    assert first.price == 360000
    assert first.address == "506 E Howell St Unit W303, Seattle, WA 98122"
    assert (first.latitude, first.longitude) == (47.6180415, -122.3249551)
    assert (first.living_area, first.year_built, first.property_type) == (566, 1992, "Condo")
    assert (first.listing_agent, first.listing_office) == ("Earnest Watts", "Redfin")
    assert (first.kind, first.status) == ("for_sale", "Active")


def test_for_sale_details_read_features(listing_fixture: Reader) -> None:
    items = list(redfin.parse(listing_fixture(f"{SCRAPFLY}/redfin_properties_for_sale.json")))

    assert len(items) == 3
    home = items[0]
    assert isinstance(home, RawRecord)
    assert home.source_ref == "186647"
    assert (home.price, home.bedrooms, home.bathrooms) == ("$649,950", "4", 1.75)
    assert (home.living_area, home.lot_area, home.year_built) == ("1,368", "7,616 sq ft", "1960")
    assert home.listed_at == "Thursday, November 9, 2023"
    assert home.address == "10116 Myers Way S, Seattle, WA 98168"
    # the condo at 506 E Howell is the same Redfin home id as in the search
    assert isinstance(items[2], RawRecord) and items[2].source_ref == "46456"


def test_for_rent_details_give_one_record_per_unit(listing_fixture: Reader) -> None:
    items = list(redfin.parse(listing_fixture(f"{SCRAPFLY}/redfin_properties_for_rent.json")))

    refs = [i.source_ref for i in items]
    assert len(refs) == len(set(refs)) == 175
    unit = items[0]
    assert isinstance(unit, RawRecord)
    assert (unit.price, unit.bedrooms, unit.bathrooms, unit.living_area) == (2395, 0, 1.0, 525)
    assert (unit.kind, unit.unit) == ("for_rent", "E627")


def test_home_without_property_id_is_rejected() -> None:
    (item,) = redfin.parse(b'[{"propertyId": null, "latLong": {}}]')

    assert isinstance(item, Rejected) and "propertyId" in item.reason


@pytest.mark.parametrize("data", [b"", b"[", b"[]", b'{"x": 1}', b'[{"x": 1}]', b"[1, 2]"])
def test_bad_documents_are_parse_errors(data: bytes) -> None:
    with pytest.raises(ParseError):
        list(redfin.parse(data))
