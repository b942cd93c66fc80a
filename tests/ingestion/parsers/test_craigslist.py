from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from aiqleads.ingestion.parsers import craigslist
from aiqleads.ingestion.records import ParseError, RawRecord, Rejected

Reader = Callable[[str], bytes]
LIB = "listing_fixtures/craigslist/libcraigscrape"
TONY = "listing_fixtures/craigslist/tonykieling-craigslist-apto"


def records(data: bytes) -> list[RawRecord]:
    items = list(craigslist.parse(data))
    assert all(isinstance(i, RawRecord) for i in items), items
    return [i for i in items if isinstance(i, RawRecord)]


def only_rejection(data: bytes) -> Rejected:
    items = list(craigslist.parse(data))
    assert len(items) == 1 and isinstance(items[0], Rejected), items
    return items[0]


# ------------------------------------------------------------------------- 2009–2012 layout


def test_miami_2012_search_page_gives_the_rows_libcraigscrape_expects(shared_file: Reader) -> None:
    # given the Miami "real estate" search page of 2012-12-30
    data = shared_file(f"{LIB}/spec/assets/listing_rea_miami_123012.html")

    # when it is parsed
    rows = records(data)

    # then there are 100 posts, the first and the 13th as in spec/listings_spec.rb
    assert len(rows) == 100
    first, thirteenth = rows[0], rows[12]
    assert first.title == "3bd 2ba Home for Sale in Miami - Reduced"
    assert first.url == "http://miami.craigslist.org/mdc/reb/3478403162.html"
    assert first.source_ref == "3478403162"
    assert first.location_text == "Miami"
    assert first.price == "$249000"
    assert first.listed_at == "Sun Dec 30 2012"
    assert (first.bedrooms, first.living_area) == ("3", "2345ft²")
    assert (first.kind, first.is_fsbo) == ("for_sale", False)
    assert thirteenth.title == "Miami, FL Home for Sale - 4bd 3ba/1hba"
    assert thirteenth.price == "$458000"


def test_2012_search_row_by_owner_is_fsbo(shared_file: Reader) -> None:
    rows = records(shared_file(f"{LIB}/spec/assets/listing_rea_miami_123012.html"))

    by_owner = next(r for r in rows if r.source_ref == "3510827155")

    assert (by_owner.kind, by_owner.is_fsbo) == ("fsbo", True)
    assert by_owner.payload["category"] == "reo"


def test_ppa_search_page_is_rejected_as_not_housing(shared_file: Reader) -> None:
    # given an "appliances" search in New York
    data = shared_file(f"{LIB}/spec/assets/listing_search_ppa_nyc_121212.html")

    rejected = only_rejection(data)

    assert rejected.reason == "not housing: category 'ppa' (appliances - all)"
    assert rejected.payload["rows"] == 100


def test_2012_posting_page_gives_header_fields_reply_to_and_phones(shared_file: Reader) -> None:
    # given the Islamorada broker post (spec/postings_spec.rb:129-148)
    data = shared_file(f"{LIB}/spec/assets/posting_mdc_reb_120612.html")

    (post,) = records(data)

    assert post.payload["header"] == (
        "$1149000 / 3br - 2000ft² - ✱✱✱BEAUTIFUL HOUSE FOR SALE IN FLORIDA KEYS"
        " (Florida Key Islamorada)"
    )
    assert post.price == "$1149000"
    assert (post.bedrooms, post.living_area) == ("3", "2000ft²")
    assert post.source_ref == "3438004368"
    assert post.location_text == "Florida Key Islamorada"
    assert post.emails == ["p7h8m-3438004368@hous.craigslist.org"]
    assert post.listed_at == "2012-12-05, 12:46PM EST"
    assert post.phones == ["305.467.6348", "786.484.0917"]
    assert post.description is not None
    assert "Marisol Acosta" in post.description and "Akoya Realty LLC" in post.description
    assert "imgList" not in post.description  # script text is not body text
    assert (post.latitude, post.longitude) == (None, None)  # 0.000000 means no map pin
    assert post.url == "http://miami.craigslist.org/mdc/reb/3438004368.html"
    assert (post.kind, post.is_fsbo) == ("for_sale", False)


def test_2009_posting_page_gives_address_phone_and_reply_to(shared_file: Reader) -> None:
    # given the Sunrise broker post (test/test_craigslist_posting.rb:155-174)
    data = shared_file(f"{LIB}/test/post_samples/brw_reb_1224008903.html")

    (post,) = records(data)

    assert post.price == "$189999"
    assert post.source_ref == "1224008903"
    assert post.location_text == "Sunrise"
    assert post.emails == ["1971CJS@Bellsouth.net"]
    assert post.address == "9163 N.W. 26th Street, Sunrise, FL 33322"
    assert post.phones == ["954-478-4784"]
    assert post.listed_at == "2009-06-16, 6:43PM EDT"
    assert post.title == "Nice 3 Bedroom/ 2 Bathroom House with Garage in Sunrise"
    assert post.bedrooms == "3"


def test_lost_and_found_post_is_rejected_naming_its_category(shared_file: Reader) -> None:
    rejected = only_rejection(shared_file(f"{LIB}/spec/assets/posting_sfbay_1226.html"))

    assert rejected.reason == "not housing: category 'laf' (lost & found)"
    assert rejected.source_ref == "3456070558"


@pytest.mark.parametrize(
    ("path", "reason", "ref"),
    [
        (f"{LIB}/test/post_samples/this_post_has_expired.html", "posting expired", "1968731193"),
        (f"{LIB}/spec/assets/this_post_has_expired_old.html", "posting expired", "1968731193"),
        (
            f"{LIB}/test/post_samples/this_post_has_been_deleted_by_its_author.html",
            "posting deleted by its author",
            "1187861811",
        ),
    ],
)
def test_expired_and_deleted_posts_are_rejected(
    shared_file: Reader, path: str, reason: str, ref: str
) -> None:
    rejected = only_rejection(shared_file(path))

    assert (rejected.reason, rejected.source_ref) == (reason, ref)


# ------------------------------------------------------------------------------ 2014 layout


def test_2014_search_page_reads_local_and_nearby_rows(listing_fixture: Reader) -> None:
    rows = records(listing_fixture("craigslist/craigslist_response_2014.html"))

    assert len(rows) == 8
    first = rows[0]
    assert first.source_ref == "4523716250"
    assert first.title == "Gracious 55+ Living! Pool, Views, Balconies, Exceedingly Comfortable!"
    assert first.url == "http://seattle.craigslist.org/see/apa/4523716250.html"
    assert (first.price, first.bedrooms, first.living_area) == ("$815", "2", None)
    assert first.location_text == "Beacon Hill south"
    assert first.kind == "for_rent"
    assert rows[1].living_area == "900ft²"
    nearby = rows[3]
    assert nearby.source_ref == "4518691333"
    assert (nearby.listed_at, nearby.payload["nearby"]) == ("Jun 16", True)
    assert nearby.location_text == "1034 Collinson St."


def test_jsonsearch_skips_geoclusters_and_reads_postings(listing_fixture: Reader) -> None:
    # given the legacy /jsonsearch/apa response: 110 items, 41 of them geocluster rows
    items = list(craigslist.parse(listing_fixture("craigslist/apa_seattle_2014_jsonsearch.json")))

    # then the 69 postings come out and the clusters are neither records nor rejections
    assert len(items) == 69
    first = items[0]
    assert isinstance(first, RawRecord)
    assert first.title == "3 Bedroom Across from Food Forest"
    assert first.url == "https://seattle.craigslist.org/see/apa/4525143645.html"
    assert (first.latitude, first.longitude) == (47.569878, -122.313483)
    assert (first.price, first.bedrooms) == ("1300", "3")
    assert first.listed_at == datetime(2014, 6, 17, 19, 3, 12, tzinfo=UTC)


def test_python_craigslist_record_gives_geotag_and_address(listing_fixture: Reader) -> None:
    (row,) = records(listing_fixture("craigslist/listing_6098474009.json"))

    assert row.source_ref == "6095797875"
    assert row.price == "$3029"
    assert (row.latitude, row.longitude) == (37.6936, -121.9228)
    assert row.address == "6250 Stoneridge Mall Road, Pleasanton, CA 94588"
    assert row.kind == "for_rent"


# ----------------------------------------------------------------------- 2017 posting page


def test_2017_posting_page_gives_bedrooms_bathrooms_area_and_tags(listing_fixture: Reader) -> None:
    # given the ClapBot apartment post (its test_model.py: 1 bedroom, 1 bath, 5 tags)
    (post,) = records(listing_fixture("craigslist/listing_6098474009.html"))

    assert post.title == "COME ENJOY YOUR NEW HOME!"
    assert post.price == "$1590"
    assert (post.bedrooms, post.bathrooms, post.living_area) == ("1", "1", "642ft2")
    assert len(post.payload["tags"]) == 5
    assert post.source_ref == "6098474009"
    assert post.listed_at == "2017-04-21T14:40:02-0700"
    assert post.address == "1111 James Donlon Blvd, Antioch, CA, 94509"
    assert post.location_text == "pittsburg / antioch"
    assert post.phones == []  # the page hides the number behind "show contact info"
    assert post.kind == "for_rent"


# ------------------------------------------------------------------------- 2021 / 2023 pages


def test_2021_result_rows_keep_repost_of_and_housing(shared_file: Reader) -> None:
    rows = records(shared_file(f"{TONY}/search_apa_burnaby_2021_full_page.html"))

    assert len(rows) == 5
    by_id = {r.source_ref: r for r in rows}
    condo = by_id["7389436000"]
    assert condo.price == "$1,790"
    assert (condo.bedrooms, condo.living_area) == ("1", "615ft2")
    assert condo.listed_at == "2021-10-09 09:30"
    assert condo.location_text == "Vancouver burnaby/newwest"
    assert by_id["7391409874"].payload["repost_of"] == "6753207003"


def test_2023_static_results_give_37_rows(shared_file: Reader) -> None:
    rows = records(shared_file(f"{TONY}/search_apa_vancouver_2023_static_results.html"))

    assert len(rows) == 37
    assert rows[0].title == "1 bedroom attic suite."
    assert (rows[0].price, rows[0].location_text) == ("$1,800", "Vancouver")
    assert rows[0].source_ref == "7681853215"
    assert rows[-1].title == "Bright, charming, private 1 bedroom basement suite"


def test_result_rows_wrapped_in_a_js_template_string_are_unwrapped() -> None:
    # given a saved fragment as a JS module (the shape of tonykieling's input.js)
    data = (
        b'module.exports = (`\n<ul class="rows">\n'
        b'<li class="result-row" data-pid="7391409874" data-repost-of="6753207003">'
        b'<time class="result-date" datetime="2021-10-08 11:50">Oct 8</time>'
        b'<a href="https://vancouver.craigslist.org/bnc/apa/d/x/7391409874.html" '
        b'class="result-title hdrlnk">Junior 1 BR</a>'
        b'<span class="result-meta"><span class="result-price">$1,680</span>'
        b'<span class="housing">1br - 551ft<sup>2</sup> -</span></span></li></ul>`);\n'
    )

    (row,) = records(data)

    assert (row.source_ref, row.price, row.bedrooms, row.living_area) == (
        "7391409874",
        "$1,680",
        "1",
        "551ft2",
    )


# --------------------------------------------------------------------------- bad documents


@pytest.mark.parametrize("data", [b"", b"   \n", b"\xef\xbb\xbf"])
def test_empty_document_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="empty"):
        list(craigslist.parse(data))


def test_truncated_html_page_is_a_parse_error(listing_fixture: Reader) -> None:
    data = listing_fixture("craigslist/craigslist_response_2014.html")

    with pytest.raises(ParseError, match="truncated"):
        list(craigslist.parse(data[: len(data) // 2]))


def test_truncated_jsonsearch_is_a_parse_error(listing_fixture: Reader) -> None:
    data = listing_fixture("craigslist/apa_seattle_2014_jsonsearch.json")

    with pytest.raises(ParseError, match="truncated"):
        list(craigslist.parse(data[:5000]))


def test_unrelated_html_page_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="not a recognised Craigslist"):
        list(craigslist.parse(b"<!DOCTYPE html><html><body><p>hello</p></body></html>"))


@pytest.mark.parametrize("data", [b'{"a": 1}', b"[1, 2, 3]", b"plain text"])
def test_unrecognised_json_or_text_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        list(craigslist.parse(data))


def test_jsonsearch_posting_without_id_is_rejected() -> None:
    data = b'[[{"PostingTitle": "x", "Ask": "1"}, "junk"], {"baseurl": "//seattle.craigslist.org"}]'

    items = list(craigslist.parse(data))

    assert [type(i) for i in items] == [Rejected, Rejected]
    assert isinstance(items[0], Rejected) and "PostingID" in items[0].reason


def test_search_row_without_post_id_is_rejected() -> None:
    data = (
        b'<ol class="cl-static-search-results"><li class="cl-static-search-result">'
        b'<a href="https://x.craigslist.org/apa/"><div class="title">t</div></a></li></ol>'
    )

    rejected = only_rejection(data)

    assert rejected.reason == "search row without a post id"


def test_js_string_without_closing_quote_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="closing quote"):
        list(craigslist.parse(b"module.exports = (`<li class='result-row'>"))
