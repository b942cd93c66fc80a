"""Layout drift of a source (field case C01): Craigslist's search page as served since 2023 and
saved after its scripts ran, in its three views; a page that matches no layout is quarantined
with the layout markers that were looked for."""

from __future__ import annotations

import pytest
from tests.shared_data import FIXTURES

from aiqleads.ingestion.parsers import craigslist, zillow
from aiqleads.ingestion.records import ParseError, RawRecord

C01 = FIXTURES / "field_cases" / "C01_craigslist_2023_rendered_search.html"


def _page(cards: str) -> bytes:
    return (
        "<!DOCTYPE html><html><head><title>dallas apartments - craigslist</title>"
        '<link rel="canonical" href="https://dallas.craigslist.org/search/apa"></head>'
        f'<body><div class="results cl-results-page">{cards}</div></body></html>'
    ).encode()


def test_c01_rendered_list_view_gives_its_three_results() -> None:
    records = list(craigslist.parse(C01.read_bytes()))
    assert all(isinstance(r, RawRecord) for r in records)
    got = [(r.source_ref, r.price, r.bedrooms, r.living_area, r.kind) for r in records]  # type: ignore[union-attr]
    assert got == [
        ("7701000101", "$1,395", "2", "950ft2", "for_rent"),
        ("7701000102", "$995", "0", None, "for_rent"),
        ("7701000103", "$2,150", "3", "1600ft2", "for_rent"),
    ]
    assert records[0].location_text == "Summerlin"  # type: ignore[union-attr]


def test_gallery_view_cards_are_read() -> None:
    card = (
        '<div class="cl-search-result cl-search-view-mode-gallery" data-pid="7800000001">'
        '<a class="main" href="https://dallas.craigslist.org/dal/apa/d/dallas-loft/7800000001.html">'
        '<img></a><div class="gallery-card"><a class="cl-app-anchor posting-title" '
        'href="https://dallas.craigslist.org/dal/apa/d/dallas-loft/7800000001.html">'
        '<span class="label">Loft in Deep Ellum</span></a><span class="priceinfo">$1,650</span>'
        '<div class="meta">11/29<span class="separator">·</span><span class="housing-meta">'
        '<span class="post-bedrooms">1br</span><span class="post-sqft">720ft<span>2</span>'
        '</span></span><span class="separator">·</span>Deep Ellum</div></div></div>'
    )
    (record,) = craigslist.parse(_page(card))
    assert isinstance(record, RawRecord)
    assert (record.source_ref, record.title) == ("7800000001", "Loft in Deep Ellum")
    assert record.price == "$1,650"
    assert (record.bedrooms, record.living_area, record.kind) == ("1", "720ft2", "for_rent")


def test_thumb_view_list_items_with_a_map_pin_are_read_with_their_point() -> None:
    card = (
        '<li class="cl-search-result cl-search-view-mode-thumb" data-pid="7800000002" '
        'data-latitude="32.7801" data-longitude="-96.8005" title="Room near Fair Park">'
        '<a class="posting-title" href="https://dallas.craigslist.org/dal/roo/d/dallas-room/7800000002.html">'
        '<span class="label">Room near Fair Park</span></a><span class="priceinfo">$700</span></li>'
    )
    (record,) = craigslist.parse(_page(card))
    assert isinstance(record, RawRecord)
    assert (record.latitude, record.longitude, record.kind) == ("32.7801", "-96.8005", "for_rent")


def test_a_page_of_no_known_layout_names_the_markers_looked_for() -> None:
    with pytest.raises(ParseError) as caught:
        list(craigslist.parse(b"<html><head><title>new look</title></head><body></body></html>"))
    message = str(caught.value)
    assert "none of the layout markers" in message
    for marker in ("li.cl-static-search-result", "[data-pid].cl-search-result", "li.result-row"):
        assert marker in message
    assert "'new look'" in message


def test_zillow_json_of_no_known_shape_names_the_markers_looked_for() -> None:
    with pytest.raises(ParseError, match=r"none of the layout markers cat1\.searchResults"):
        list(zillow.parse(b'{"props": {}}'))
