from __future__ import annotations

import gzip
from collections.abc import Callable

import pytest

from aiqleads.ingestion.parsers import csv_source
from aiqleads.ingestion.parsers.registry import get_parser
from aiqleads.ingestion.records import ParseError, RawRecord, Rejected
from aiqleads.sample.sources import KING_COUNTY_SALES

Reader = Callable[[str], bytes]
TAB = "tabular"


def test_king_county_sales_use_id_and_date_as_ref() -> None:
    # given the 21,613 King County sales bundled in the package
    data = gzip.decompress(KING_COUNTY_SALES.read_bytes())

    items = list(get_parser("king_county_sales")(data))

    assert len(items) == 21613 and all(isinstance(i, RawRecord) for i in items)
    first = items[0]
    assert isinstance(first, RawRecord)
    assert first.source_ref == "7129300520:20141013T000000"
    assert (first.price, first.bedrooms, first.bathrooms) == ("221900", "3", "1")
    assert (first.latitude, first.longitude, first.zip_code) == ("47.5112", "-122.257", "98178")
    assert (first.living_area, first.lot_area, first.year_built) == ("1180", "5650", "1955")
    assert first.listed_at == "20141013T000000"
    # resales keep one id but get distinct refs: 21,613 distinct refs over 21,436 houses
    refs = [i.source_ref for i in items if isinstance(i, RawRecord)]
    assert len(set(refs)) == len(refs)
    assert len({r.split(":")[0] for r in refs}) == 21436


def test_asl7168_dallas_rentals(shared_file: Reader) -> None:
    data = shared_file(f"{TAB}/craigslist_housing_asl7168/dallas_complete.csv")

    items = list(get_parser("craigslist_csv_asl7168")(data))

    assert len(items) == 431
    first = items[0]
    assert isinstance(first, RawRecord)
    assert (first.source, first.source_ref, first.kind) == ("craigslist", "7517713882", "for_rent")
    assert (first.price, first.street) == ("1710", "951 Leora Lane")
    assert (first.latitude, first.longitude) == ("33.094", "-96.8836")
    assert first.location_text is None  # "NA" is the file's empty value
    assert all(isinstance(i, RawRecord) and i.latitude for i in items)


def test_irahorecka_headerless_file(listing_fixture: Reader) -> None:
    # given the first 200 lines of the Austin file (see tests/fixtures/listings/craigslist)
    data = listing_fixture("craigslist/irahorecka_2019-10-03_austin_Texas_first200.csv")

    items = list(get_parser("craigslist_csv_irahorecka")(data))

    assert len(items) == 200 and all(isinstance(i, RawRecord) for i in items)
    first = items[0]
    assert isinstance(first, RawRecord)
    assert (first.source_ref, first.price, first.living_area) == ("6992238396", "$1035", "712ft2")
    assert (first.listed_at, first.location_text) == ("2019-10-03 20:34", "Pflugerville")
    assert first.payload["repost_of"] is None


def _parser(**kwargs: object) -> csv_source.CsvParser:
    return csv_source.make_csv_parser(
        {"price": "price", "city": "city"},
        source="test",
        ref_column="id",
        **kwargs,  # type: ignore[arg-type]
    )


def test_bom_blank_lines_and_bad_rows() -> None:
    data = (
        "\ufeffid,price,city\n"
        "1,$100,Austin\n"
        "\n"
        "2,$200\n"
        ",$300,Dallas\n"
        '3,"$1,000","New\nYork"\n'
        "4,$400,Reno\n"
    ).encode()

    items = list(_parser()(data))

    assert [type(i) for i in items] == [RawRecord, Rejected, Rejected, RawRecord, RawRecord]
    assert isinstance(items[0], RawRecord) and items[0].price == "$100"
    assert isinstance(items[1], Rejected) and items[1].reason == "line 4: 2 columns, expected 3"
    assert isinstance(items[2], Rejected) and items[2].reason == "line 5: empty reference column"
    assert isinstance(items[3], RawRecord) and items[3].city == "New\nYork"
    assert isinstance(items[4], RawRecord) and items[4].source_ref == "4"


def test_header_less_with_delimiter_and_kind() -> None:
    parse = _parser(
        has_header=False, column_names=["id", "price", "city"], delimiter=";", kind="for_sale"
    )

    (item,) = parse(b"9;$5;Waco\n")

    assert isinstance(item, RawRecord)
    assert (item.source_ref, item.price, item.city, item.kind) == ("9", "$5", "Waco", "for_sale")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf\n\n", "empty"),
        (b"id,price\n1,2\n", "lacks mapped columns"),
        (b'id,price,city\n1,"unterminated\n', "malformed"),
    ],
)
def test_bad_files_are_parse_errors(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        list(_parser()(data))


def test_mapping_to_unknown_field_is_refused() -> None:
    with pytest.raises(ValueError, match="not RawRecord fields"):
        csv_source.make_csv_parser({"colour": "c"}, source="s", ref_column="id")
    with pytest.raises(ValueError, match="column_names"):
        csv_source.make_csv_parser({"price": "p"}, source="s", ref_column="id", has_header=False)
