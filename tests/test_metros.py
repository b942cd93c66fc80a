"""The metros as data: lookups, bounding boxes, points."""

from __future__ import annotations

import pytest

from aiqleads.metros import METROS, UnknownMetroError, get_metro, metro_for_point

DOWNTOWNS = {
    "las_vegas": (36.1699, -115.1398),
    "phoenix": (33.4484, -112.0740),
    "austin": (30.2672, -97.7431),
    "dallas": (32.7767, -96.7970),
    "seattle": (47.6062, -122.3321),
}


def test_the_five_metros_with_their_core_county() -> None:
    assert set(METROS) == set(DOWNTOWNS)
    assert "32003" in get_metro("las_vegas").county_fips
    assert "04013" in get_metro("phoenix").county_fips
    assert "48453" in get_metro("austin").county_fips
    assert "48113" in get_metro("dallas").county_fips
    assert get_metro("seattle").county_fips == ("53033",)
    assert get_metro("seattle").state == "WA"


@pytest.mark.parametrize(("slug", "point"), DOWNTOWNS.items())
def test_each_downtown_and_centre_is_in_its_own_metro_only(
    slug: str, point: tuple[float, float]
) -> None:
    assert metro_for_point(*point) is get_metro(slug)
    assert metro_for_point(*get_metro(slug).centre) is get_metro(slug)


def test_bbox_is_the_county_bounds_padded() -> None:
    min_lon, min_lat, max_lon, max_lat = get_metro("seattle").bbox
    assert (min_lon, min_lat, max_lon, max_lat) == (-122.6262, 46.985, -120.9654, 47.8808)


def test_san_marcos_and_round_rock_belong_to_austin() -> None:
    assert metro_for_point(29.8833, -97.9414) is get_metro("austin")  # San Marcos
    assert metro_for_point(30.5083, -97.6789) is get_metro("austin")  # Round Rock


def test_points_elsewhere_have_no_metro() -> None:
    assert metro_for_point(40.7128, -74.0060) is None  # New York
    assert metro_for_point(0.0, 0.0) is None


def test_metro_boxes_do_not_overlap() -> None:
    boxes = [m.bbox for m in METROS.values()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]


def test_unknown_slug_names_the_known_ones() -> None:
    with pytest.raises(UnknownMetroError) as exc_info:
        get_metro("miami")
    message = str(exc_info.value)
    assert "miami" in message
    assert all(slug in message for slug in METROS)
