"""Degree boxes around a point (`kit.distance.degree_box`): every point within the radius lies
in the box, wherever the point is, poles and the antimeridian included."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aiqleads.geo.projection import haversine_m
from aiqleads.kit.distance import EARTH_RADIUS_M, degree_box


def _around(lat: float, lon: float, radius_m: float, n: int = 4000) -> np.ndarray:
    """Points at up to `radius_m` from (lat, lon) in every direction (the direct geodesic
    problem on the sphere), the circle itself among them; longitudes in [-180, 180)."""
    rng = np.random.default_rng(int(abs(lat * 1000 + lon)))
    bearing = np.concatenate([np.linspace(0, 2 * np.pi, n // 2), rng.uniform(0, 2 * np.pi, n // 2)])
    dist = np.concatenate([np.full(n // 2, radius_m), rng.uniform(0, radius_m, n // 2)])
    d = dist / EARTH_RADIUS_M
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(bearing))
    l2 = l1 + np.arctan2(
        np.sin(bearing) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2)
    )
    lon2 = (np.degrees(l2) + 180.0) % 360.0 - 180.0
    return np.column_stack((np.degrees(p2), lon2))


@pytest.mark.parametrize(
    ("lat", "lon", "radius_m"),
    [
        (47.6, -122.3, 1000.0),
        (47.6, -122.3, 250_000.0),
        (71.3, -156.8, 5000.0),  # Utqiagvik, Alaska
        (51.8, 179.9999, 1000.0),  # across the antimeridian
        (51.8, -179.999, 1000.0),
        (89.99, 0.0, 5000.0),  # the circle holds the North Pole
        (-89.5, 120.0, 60_000.0),  # and the South Pole
        (0.0, 0.0, 3_000_000.0),
        (85.0, 10.0, 500_000.0),
    ],
)
def test_every_point_within_the_radius_lies_in_the_box(
    lat: float, lon: float, radius_m: float
) -> None:
    lat_lo, lat_hi, lon_lo, lon_hi = degree_box(lat, lon, radius_m)
    points = _around(lat, lon, radius_m * (1 - 1e-9))
    assert (haversine_m(lat, lon, points[:, 0], points[:, 1]) <= radius_m).all()
    assert ((points[:, 0] >= lat_lo) & (points[:, 0] <= lat_hi)).all()
    assert ((points[:, 1] >= lon_lo) & (points[:, 1] <= lon_hi)).all()


def test_the_box_is_tight_away_from_poles_and_the_antimeridian() -> None:
    # Its edges touch the circle, give or take 0.1 mm: the northernmost point and the widest
    # longitude
    _, lat_hi, lon_lo, lon_hi = degree_box(47.6, -122.3, 1000.0)
    assert haversine_m(47.6, -122.3, lat_hi, -122.3) == pytest.approx(1000.0, abs=1e-3)
    widest = _around(47.6, -122.3, 1000.0, n=200_000)[:, 1].max()
    assert widest == pytest.approx(lon_hi, abs=2e-9)
    assert lon_hi - lon_lo < 0.03


def test_boxes_around_a_pole_or_across_the_antimeridian_span_every_longitude() -> None:
    assert degree_box(89.99, 0.0, 5000.0)[1:] == (90.0, -180.0, 180.0)
    lat_lo, lat_hi, lon_lo, lon_hi = degree_box(51.8, 179.9999, 1000.0)
    assert (lon_lo, lon_hi) == (-180.0, 180.0) and lat_hi - lat_lo < 0.02


def test_points_exactly_on_the_circle_and_on_the_antimeridian_are_inside() -> None:
    for lat, lon, radius_m in [(47.6, -122.3, 1000.0), (-33.9, 151.2, 20_000.0), (10.0, 5.0, 1.0)]:
        lat_lo, lat_hi, lon_lo, lon_hi = degree_box(lat, lon, radius_m)
        edge = _around(lat, lon, radius_m, n=20_000)[:10_000]  # the circle itself
        assert ((edge[:, 0] >= lat_lo) & (edge[:, 0] <= lat_hi)).all()
        assert ((edge[:, 1] >= lon_lo) & (edge[:, 1] <= lon_hi)).all()
    # a point on the antimeridian is stored as 180 or -180: the box holds both
    _, _, lon_lo, lon_hi = degree_box(0.0, 180.0, 0.0)
    assert lon_lo <= -180.0 and lon_hi >= 180.0


@pytest.mark.parametrize(
    ("lat", "lon", "radius_m", "message"),
    [
        (math.nan, 0.0, 1.0, "finite"),
        (0.0, math.inf, 1.0, "finite"),
        (0.0, 0.0, -1.0, "radius"),
        (0.0, 0.0, math.nan, "radius"),
    ],
)
def test_a_box_without_an_answer_is_refused(
    lat: float, lon: float, radius_m: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        degree_box(lat, lon, radius_m)
