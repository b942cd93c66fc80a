from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from aiqleads.ingestion.parsers import zillow
from aiqleads.ingestion.records import ParseError, RawRecord, Rejected

Reader = Callable[[str], bytes]
ETL = "listing_fixtures/zillow/mcastro1822-zillow-etl/tests/assets/response"


def test_search_page_state_gives_41_listings_with_agent_and_office(shared_file: Reader) -> None:
    for page in ("first_page.json", "second_page.json"):
        items = list(zillow.parse(shared_file(f"{ETL}/{page}")))
        assert len(items) == 41 and all(isinstance(i, RawRecord) for i in items)

    first = next(iter(zillow.parse(shared_file(f"{ETL}/first_page.json"))))
    assert isinstance(first, RawRecord)
    assert first.source_ref == "19998955"
    assert first.price == 499000  # the exact number, not the display string "$499,000"
    assert first.address == "7941 Rhodes Ave, North Hollywood, CA 91605"
    assert (first.bedrooms, first.bathrooms, first.living_area) == (2, 1.0, 918)
    assert (first.latitude, first.longitude) == (34.21504, -118.40345)
    assert first.listing_office == "TruLine Realty"
    assert first.listing_agent == "Sierus Erdelyi DRE # 01870547"
    assert (first.kind, first.is_fsbo, first.status) == ("for_sale", False, "FOR_SALE")


def test_property_page_html_reads_the_next_data_property(shared_file: Reader) -> None:
    # given the saved property page and the upstream test's expected gdpClientCache value
    (from_html,) = zillow.parse(shared_file(f"{ETL}/listing.html"))
    (from_cache,) = zillow.parse(shared_file(f"{ETL}/listing.json"))

    assert isinstance(from_html, RawRecord)
    assert from_html.payload == json.loads(shared_file(f"{ETL}/listing.json"))["property"]
    assert from_html == from_cache
    assert from_html.source_ref == "2146993218"
    assert from_html.address == "6851 Roswell Rd APT O31, Sandy Springs, GA 30328"
    assert (from_html.price, from_html.bedrooms, from_html.bathrooms) == (265000, 2, 2)
    assert from_html.year_built == 1964
    assert from_html.listing_agent == "Michelle Graves"
    assert from_html.listing_office == "Presley Roth Real Estate"
    assert from_html.phones == ["678-858-8461"]
    assert from_html.is_fsbo is False


def test_scrapfly_property_json(listing_fixture: Reader) -> None:
    (prop,) = zillow.parse(listing_fixture("scrapfly/zillow_property.json"))

    assert isinstance(prop, RawRecord)
    assert prop.source_ref == "15192198"
    assert prop.street == "661 Lakeview Ave"
    assert (prop.city, prop.zip_code, prop.price) == ("San Francisco", "94112", 850000)
    assert (prop.latitude, prop.longitude) == (37.71803, -122.45783)
    assert prop.emails == ["debbie@debbiewong.com"]


def test_scrapfly_search_list_survives_a_stray_byte_and_rejects_buildings(
    listing_fixture: Reader,
) -> None:
    # given scrapfly's search.json: 387 rows, one raw 0xAE byte, 6 building summaries and one
    # builder community card ("Homes Available Soon, Union House SF", "$0+")
    items = list(zillow.parse(listing_fixture("scrapfly/zillow_search.json")))

    assert len(items) == 387
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(rejected) == 7
    assert sum("not one listing" in r.reason for r in rejected) == 6
    assert sum("builder community or plan card" in r.reason for r in rejected) == 1
    first = items[0]
    assert isinstance(first, RawRecord)
    assert (first.source_ref, first.price) == ("2052939967", 7800000)
    offices = {i.listing_office for i in items if isinstance(i, RawRecord)}
    assert "West & Praszker, REALTORS®" in offices


def test_fsbo_tracker_rows_are_zillow_fsbo_listings(shared_file: Reader) -> None:
    items = list(
        zillow.parse(
            shared_file("listing_fixtures/fsbo/jnewg4-coder-fsbo-tracker/fsbo_latest.json")
        )
    )

    assert len(items) == 86
    assert all(isinstance(i, RawRecord) and i.is_fsbo and i.kind == "fsbo" for i in items)
    first = items[0]
    assert isinstance(first, RawRecord)
    assert first.source_ref == "41112449"  # the zpid, as on Zillow's own pages
    assert first.address == "6207 Laramie Ave, Nashville, TN 37209"
    assert (first.price, first.latitude) == (430000, 36.160572)
    listing_types = [i.payload["listing_type"] for i in items if isinstance(i, RawRecord)]
    assert (listing_types.count("fsbo"), listing_types.count("mlsfsbo")) == (82, 4)


def test_is_fsbo_sub_type_makes_a_search_row_fsbo() -> None:
    row = {
        "zpid": "1",
        "detailUrl": "/homedetails/1_zpid/",
        "statusType": "FOR_SALE",
        "price": "$100,000",
        "hdpData": {"homeInfo": {"homeStatus": "FOR_SALE", "listing_sub_type": {"is_FSBO": True}}},
    }

    (item,) = zillow.parse(json.dumps([row]).encode())

    assert isinstance(item, RawRecord)
    assert (item.kind, item.is_fsbo, item.url) == (
        "fsbo",
        True,
        "https://www.zillow.com/homedetails/1_zpid/",
    )


def test_search_row_without_zpid_is_rejected() -> None:
    (item,) = zillow.parse(b'[{"detailUrl": "/x", "price": "$1"}]')

    assert isinstance(item, Rejected) and item.reason == "search result without zpid"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b'{"cat1": {"searchResults": {"listResults": [', "truncated"),
        (b'{"hello": "world"}', "not a Zillow"),
        (b"<html><body>no data</body></html>", "__NEXT_DATA__"),
        (
            b'<html><script id="__NEXT_DATA__" type="application/json">{"props": {</script></html>',
            "not valid JSON",
        ),
        (b'{"cat1": {"searchResults": {}}}', "listResults"),
    ],
)
def test_bad_documents_are_parse_errors(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        list(zillow.parse(data))


def test_truncated_property_page_is_a_parse_error(shared_file: Reader) -> None:
    data = shared_file(f"{ETL}/listing.html")
    start = data.index(b"__NEXT_DATA__")

    with pytest.raises(ParseError):
        list(zillow.parse(data[: start + 5000]))
