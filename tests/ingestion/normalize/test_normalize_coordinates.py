"""Coordinate checks, ZIP centroids and H3 cells."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tests.shared_data import SharedPath, fixture_path

from aiqleads.ingestion.normalize.coordinates import (
    Point,
    check_coordinates,
    zip_centroid,
    zip_info,
)
from aiqleads.ingestion.normalize.reasons import Reason
from aiqleads.kit.places import city_key
from aiqleads.metros import get_metro

SEATTLE = get_metro("seattle")


def _centroid_mismatches(path: Path) -> tuple[int, list[str]]:
    """(rows in an export of zipcodes 3.0.0, the ZIPs whose centroid is not the exported one)."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    wrong = [
        row["zip_code"]
        for row in rows
        if zip_centroid(row["zip_code"]) != (float(row["lat"]), float(row["long"]))
    ]
    return len(rows), wrong


def test_zip_centroids_match_the_exported_zipcodes_table() -> None:
    # given the export of zipcodes 3.0.0 for the metros' states (WA, NV, AZ, TX)
    path = fixture_path("geo", "zipcodes_v3.0.0_centroids_wa_nv_az_tx.csv")
    # when each ZIP is looked up, then the centroid is the exported lat/long
    assert _centroid_mismatches(path) == (4_220, [])


def test_zip_centroids_match_the_whole_exported_table(shared_path: SharedPath) -> None:
    # given the export of every ZIP in zipcodes 3.0.0
    path = shared_path("geo", "zip_centroids", "zipcodes_pypi_v3.0.0_all.csv")
    # when each ZIP is looked up, then the centroid is the exported lat/long
    assert _centroid_mismatches(path) == (42_789, [])


@pytest.mark.parametrize(
    ("zip5", "city", "same_as"),
    [
        ("75069", "McKinney", "McKinney"),  # the zipcodes package says "Mckinney"
        ("75115", "Desoto", "DeSoto"),  # USPS capitals lost the inner capital: the key agrees
        ("27101", "Winston Salem", "Winston-Salem"),  # USPS writes no punctuation
        ("63366", "O Fallon", "O'Fallon"),
        ("83814", "Coeur D Alene", "Coeur d'Alene"),
        ("63101", "Saint Louis", "St. Louis"),
        ("29451", "Isle of Palms", "Isle of Palms"),  # the package says "Isle Of Palms"
        ("98101", "Seattle", "SEATTLE"),
    ],
)
def test_zip_city_names_are_displayed_and_keyed_like_source_cities(
    zip5: str, city: str, same_as: str
) -> None:
    info = zip_info(zip5)
    assert info is not None
    assert info.city == city
    assert city_key(info.city) == city_key(same_as)


def test_unknown_zip_has_no_centroid() -> None:
    assert zip_centroid("00000") is None
    assert zip_centroid("abc") is None


def test_good_point_in_the_metro_is_kept() -> None:
    assert check_coordinates("47.5112", "-122.257", metro=SEATTLE) == Point(47.5112, -122.257)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [("4.75112E+01", "-1.22257E+02"), ("4.75112e1", "-1.22257e2"), (4.75112e1, -1.22257e2)],
)
def test_points_in_scientific_notation_are_read_whole(lat: object, lon: object) -> None:
    assert check_coordinates(lat, lon, metro=SEATTLE) == Point(47.5112, -122.257)


def test_swapped_point_is_corrected_only_when_unambiguous() -> None:
    assert check_coordinates(-122.257, 47.5112, metro=SEATTLE) == Point(47.5112, -122.257, True)
    assert check_coordinates(-122.257, 47.5112) == Point(47.5112, -122.257, True)
    # a swap that lands nowhere plausible stays an error
    result = check_coordinates(-74.0, 40.7, metro=SEATTLE)
    assert isinstance(result, Reason) and result.code == "coordinates_out_of_metro"


@pytest.mark.parametrize(
    ("lat", "lon", "code"),
    [
        (None, -122.3, "coordinates_missing"),
        ("", "", "coordinates_missing"),
        ("north", "west", "coordinates_unparseable"),
        (True, 1.0, "coordinates_unparseable"),
        (float("inf"), 1.0, "coordinates_unparseable"),
        (0, 0, "coordinates_null_island"),
        (95.0, 200.0, "coordinates_out_of_range"),
        (40.7, -74.0, "coordinates_out_of_metro"),
        ("1e400", "-122.3", "coordinates_unparseable"),  # float() would give inf
        ("4.7e99999", "-122.3", "coordinates_unparseable"),
        ("47.6e", "-122.3", "coordinates_unparseable"),
        ("4_7.6", "-122.3", "coordinates_unparseable"),  # float() would read 47.6
        ("infinity", "-122.3", "coordinates_unparseable"),
        pytest.param(10**400, -122.3, "coordinates_unparseable", id="huge-int"),  # no OverflowError
        ("1e-9", "1e-9", "coordinates_out_of_metro"),
    ],
)
def test_bad_points_are_reasons(lat: object, lon: object, code: str) -> None:
    result = check_coordinates(lat, lon, metro=SEATTLE)
    assert isinstance(result, Reason)
    assert result.code == code


def test_out_of_metro_reason_names_point_and_metro() -> None:
    result = check_coordinates(40.7, -74.0, metro=SEATTLE)
    assert str(result) == "coordinates_out_of_metro: (40.7, -74.0) not in seattle"


def test_without_a_metro_only_us_points_pass() -> None:
    assert check_coordinates(40.7, -74.0) == Point(40.7, -74.0)
    result = check_coordinates(51.5, -0.12)
    assert isinstance(result, Reason) and result.code == "coordinates_outside_us"
