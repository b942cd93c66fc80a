"""The Zillow and Redfin readers on real cuts of the published files, and on broken ones."""

from __future__ import annotations

import gzip
import io
from datetime import date
from pathlib import Path

import pytest

from aiqleads.market.loaders import (
    LoadReport,
    UnreadableFile,
    metro_slug,
    parse_month,
    read_file,
    read_redfin,
    read_zillow,
    zillow_measure,
)
from tests.shared_data import SharedPath, fixture_path

ZIP_CUT = "zillow_Zip_zori_uc_sfrcondomfr_sm_month_cut.csv"
METRO_CUT = "zillow_Metro_zhvi_uc_sfrcondo_tier_0.33_0.67_sm_sa_month_2022_cut.csv"
REDFIN_CUT = "redfin_us_national_market_tracker_cut.tsv"


def test_month_headers_in_both_spellings() -> None:
    assert parse_month("1/31/2015") == date(2015, 1, 1)
    assert parse_month("2015-01-31") == date(2015, 1, 1)
    assert parse_month("2015-13-01") is None
    assert parse_month("Metro") is None


def test_region_names_map_to_our_metros() -> None:
    assert metro_slug("Seattle, WA") == "seattle"
    assert metro_slug("Seattle-Tacoma-Bellevue, WA") == "seattle"
    assert metro_slug("Dallas-Fort Worth, TX") == "dallas"
    assert metro_slug("Austin, TX") == "austin"
    assert metro_slug("Portland, OR") is None
    assert metro_slug("Seattle, OR") is None  # the state must match too


def test_the_measure_comes_from_the_file_name() -> None:
    assert zillow_measure(Path(ZIP_CUT)) == "zori"
    assert zillow_measure(Path(METRO_CUT)) == "zhvi"
    assert zillow_measure(Path("prices.csv")) is None


def test_zillow_zip_cut_with_m_d_yyyy_headers() -> None:
    # Given the real ZIP rent file's first five King County rows (106 months each)
    report = LoadReport()
    # When it is read
    points = list(read_file(fixture_path("market", ZIP_CUT), "zillow", report))
    # Then every cell is a value or a blank, nothing is rejected
    assert report.rows == 5
    assert report.values + report.blank == 5 * 106
    assert report.values == len(points)
    assert not report.rejected
    # And a known value: ZIP 98052 (Redmond) in October 2023
    [last] = [p for p in points if p.region == "98052" and p.month == date(2023, 10, 1)]
    assert (last.source, last.region_kind, last.measure) == ("zillow", "zip", "zori")
    assert last.value == pytest.approx(2396.981657)
    # And 98052's 13 first months (2015-01 to 2016-01) are blank
    first = min(p.month for p in points if p.region == "98052")
    assert first == date(2016, 2, 1)


def test_zillow_metro_cut_with_iso_headers_maps_seattle() -> None:
    report = LoadReport()
    points = list(read_file(fixture_path("market", METRO_CUT), "zillow", report))
    assert report.rows == 2 and not report.rejected
    by_key = {(p.region_kind, p.region, p.month): p.value for p in points}
    assert by_key[("metro", "seattle", date(2021, 11, 1))] == 706964.0
    assert by_key[("national", "United States", date(2021, 11, 1))] == 316368.0
    assert by_key[("metro", "seattle", date(2000, 1, 1))] == 218421.0


def test_redfin_cut_measures_per_property_type() -> None:
    report = LoadReport()
    points = list(read_file(fixture_path("market", REDFIN_CUT), "redfin", report))
    assert report.rows == 40 and not report.rejected
    assert report.values + report.blank == 40 * 14
    by_key = {(p.measure, p.month): p.value for p in points}
    # All residential, not seasonally adjusted: the plain measure (row 3 of the file)
    assert by_key[("median_sale_price", date(2012, 4, 1))] == 177995.0
    assert by_key[("avg_sale_to_list", date(2012, 4, 1))] == pytest.approx(0.96532210392423079)
    # Other property types and seasonal adjustment are told apart in the measure's name
    assert by_key[("median_sale_price:townhouse", date(2013, 1, 1))] == 164427.0
    assert ("median_sale_price:condo_co_op:sa", date(2013, 1, 1)) in by_key
    assert {p.region_kind for p in points} == {"national"}


ZILLOW_BAD = (
    "RegionID,SizeRank,RegionName,RegionType,StateName,State,2020-01-31,2020-02-31,2020-03-31\n"
    "1,1,98101,zip,WA,WA,100,5,110\n"
    "2,2,,zip,WA,WA,100,5,110\n"
    "3,3,98102,zip,WA,WA,abc,5,\n"
    "4,4,98103,zip,WA,WA,100\n"
    "5,5,Seattle,msa,WA,WA,nan,5,inf\n"
)


def test_zillow_bad_rows_are_counted_with_their_reason() -> None:
    # Given a file with a bad date header (February 31st), a row without a region, a value
    # that is no number, a short row and non-finite values
    report = LoadReport()
    # When it is read
    points = list(read_zillow(io.StringIO(ZILLOW_BAD), "zhvi", report))
    # Then the good values are kept and every bad one is counted under its reason
    assert [(p.region, p.month, p.value) for p in points] == [
        ("98101", date(2020, 1, 1), 100.0),
        ("98101", date(2020, 3, 1), 110.0),
    ]
    assert report.rejected == {
        "bad date header": 1,
        "missing region": 1,
        "non-numeric value": 2,
        "wrong number of columns": 1,
    }
    assert report.examples["bad date header"] == ["column 8: '2020-02-31'"]
    assert report.examples["missing region"] == ["line 3: ''"]
    assert report.blank == 2  # 98102's March, and Seattle's "nan"
    assert report.rows == 5


def test_redfin_bad_rows_are_counted_with_their_reason() -> None:
    text = (
        "period_begin\tperiod_duration\tregion_type\tregion\tproperty_type\t"
        "is_seasonally_adjusted\tmedian_sale_price\n"
        "2020-01-01\t30\tnational\tNational\tAll Residential\tf\t300000\n"
        "2020-13-01\t30\tnational\tNational\tAll Residential\tf\t300000\n"
        "2020-02-01\t7\tnational\tNational\tAll Residential\tf\t300000\n"
        "2020-03-01\t30\tplanet\tEarth\tAll Residential\tf\t300000\n"
        "2020-04-01\t30\tnational\tNational\tAll Residential\tf\tn/a\n"
    )
    report = LoadReport()
    points = list(read_redfin(io.StringIO(text), report))
    assert [(p.month, p.value) for p in points] == [(date(2020, 1, 1), 300000.0)]
    assert report.rejected == {
        "bad date": 1,
        "not a monthly period": 1,
        "unknown region_type": 1,
        "non-numeric value": 1,
    }


def test_a_file_of_another_format_is_refused() -> None:
    with pytest.raises(UnreadableFile, match="RegionName"):
        list(read_zillow(io.StringIO("a,b\n1,2\n"), "zhvi", LoadReport()))
    with pytest.raises(UnreadableFile, match="period_begin"):
        list(read_redfin(io.StringIO("a\tb\n1\t2\n"), LoadReport()))
    with pytest.raises(UnreadableFile, match="--measure"):
        list(read_file(fixture_path("market", REDFIN_CUT), "zillow", LoadReport()))


def test_a_gzip_compressed_file_reads_as_the_plain_one(tmp_path: Path) -> None:
    # Given the Redfin cut compressed, as Redfin's Data Center serves it (.tsv000.gz)
    plain = fixture_path("market", REDFIN_CUT)
    packed = tmp_path / "redfin_cut.tsv000.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    # When both are read
    plain_report, packed_report = LoadReport(), LoadReport()
    expected = list(read_file(plain, "redfin", plain_report))
    found = list(read_file(packed, "redfin", packed_report))
    # Then they give the same points and counts
    assert found == expected and packed_report.as_dict() == plain_report.as_dict()


def test_a_file_that_is_not_text_or_an_unknown_measure_is_refused(tmp_path: Path) -> None:
    # Given a spreadsheet's bytes under a Zillow name, and a truncated gzip archive
    binary = tmp_path / "zillow_Zip_zhvi.csv"
    binary.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\xff\xfe\x00\x01")
    truncated = tmp_path / "redfin.tsv000.gz"
    truncated.write_bytes(gzip.compress(fixture_path("market", REDFIN_CUT).read_bytes())[:40])
    # When they are read, each is refused with a reason, never a decoding error
    with pytest.raises(UnreadableFile, match="not UTF-8 text"):
        list(read_file(binary, "zillow", LoadReport()))
    with pytest.raises(UnreadableFile, match="cannot be read as a redfin file"):
        list(read_file(truncated, "redfin", LoadReport()))
    # And a measure other than zhvi or zori is refused, not stored under its name
    with pytest.raises(UnreadableFile, match="unknown measure 'foo'"):
        list(read_file(fixture_path("market", ZIP_CUT), "zillow", LoadReport(), "foo"))


def test_every_shared_zillow_file_and_the_redfin_tracker_read_cleanly(
    shared_path: SharedPath,
) -> None:
    # Given every published file in ../shared/data/tabular
    folder = shared_path("tabular")
    files = sorted(folder.glob("zillow_*.csv"))
    assert len(files) == 5
    for path in [*files, folder / "redfin_us_national_market_tracker.tsv000"]:
        report = LoadReport()
        fmt = "redfin" if path.suffix == ".tsv000" else "zillow"
        # When each is read, then nothing is rejected and every value is numeric
        n = sum(1 for _ in read_file(path, fmt, report))
        assert not report.rejected, (path.name, report.rejected)
        assert n == report.values > 0
    # And the ZIP rent file has its 6,590 ZIPs
    report = LoadReport()
    zips = {p.region for p in read_file(folder / files[-1].name, "zillow", report)}
    assert report.rows == 6590 and len(zips) == 6590
