"""Counting neighbours on the sphere (`geo.neighbors.count_within_sphere`): the same answer as
the haversine formula pair by pair, wherever the points are, without listing the pairs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.spatial import cKDTree

from aiqleads.geo.neighbors import (
    PointSet,
    count_within,
    count_within_sphere,
    fit_common_projection,
    within_sphere,
)
from aiqleads.geo.projection import EARTH_RADIUS_M, haversine_m

Arrays = tuple[np.ndarray, np.ndarray]


def _brute_force(q: Arrays, p: Arrays, radius_m: float) -> np.ndarray:
    """Per query, the points whose haversine distance is at most `radius_m`; and whether any
    pair lies within a micrometre of the radius (where rounding may decide either way)."""
    d = haversine_m(q[0][:, None], q[1][:, None], p[0][None, :], p[1][None, :])
    assert not (np.abs(d - radius_m) < 1e-6).any(), "a pair sits on the radius: reseed"
    counts: np.ndarray = (d <= radius_m).sum(axis=1)
    return counts


def _random(rng: np.random.Generator, n: int, lat: float, lon: float, spread: float) -> Arrays:
    return lat + (rng.random(n) - 0.5) * spread, lon + (rng.random(n) - 0.5) * spread


@pytest.mark.parametrize("radius_m", [5.0, 250.0, 1000.0, 20_000.0])
def test_counts_match_the_haversine_formula_on_a_dense_market(radius_m: float) -> None:
    # Given 1,500 leads and 400 query points in a city-sized area, some leads stacked on
    # others (a building's units)
    rng = np.random.default_rng(7)
    p = _random(rng, 1500, 47.6, -122.3, 0.2)
    p = (np.concatenate([p[0], p[0][:100]]), np.concatenate([p[1], p[1][:100]]))
    q = _random(rng, 400, 47.6, -122.3, 0.25)
    # When the points within the radius of each query are counted
    found = count_within_sphere(q[0], q[1], p[0], p[1], radius_m)
    # Then each count is the brute-force haversine count
    assert found.dtype == np.int64
    np.testing.assert_array_equal(found, _brute_force(q, p, radius_m))


def test_counts_hold_across_the_antimeridian_and_near_a_pole() -> None:
    # Given points on both sides of longitude 180 and others around the north pole, where a
    # degree of longitude is a few metres
    rng = np.random.default_rng(3)
    fiji = _random(rng, 300, -17.0, 179.95, 0.3)
    fiji = (fiji[0], (fiji[1] + 180.0) % 360.0 - 180.0)
    pole = (89.95 + rng.random(300) * 0.0499, rng.random(300) * 360.0 - 180.0)
    for points in (fiji, pole):
        # When each point's neighbours within 3 km are counted
        found = count_within_sphere(points[0], points[1], points[0], points[1], 3000.0)
        # Then they are counted by true distance, not by degrees
        np.testing.assert_array_equal(found, _brute_force(points, points, 3000.0))
        assert (found > 1).any() and (found < len(points[0])).any()


def test_points_just_inside_and_just_outside_the_radius() -> None:
    # Given points due north of the query at 1 mm inside and 1 mm outside 1 km, and one due
    # east just inside
    lat0, lon0, r = 47.6, -122.3, 1000.0
    dlat = np.degrees(np.array([r - 1e-3, r + 1e-3]) / EARTH_RADIUS_M)
    dlon = np.degrees((r - 1e-3) / EARTH_RADIUS_M) / np.cos(np.radians(lat0))
    lat = np.array([lat0 + dlat[0], lat0 + dlat[1], lat0])
    lon = np.array([lon0, lon0, lon0 + dlon])
    # When the query's neighbours are counted
    found = count_within_sphere(np.array([lat0]), np.array([lon0]), lat, lon, r)
    # Then the two inside count and the one outside does not
    assert found.tolist() == [2]
    assert (haversine_m(lat0, lon0, lat, lon) <= r).sum() == 2


def test_empty_inputs_and_a_radius_around_the_world() -> None:
    lat, lon = np.array([10.0, -45.0, 80.0]), np.array([0.0, 170.0, -60.0])
    empty = np.empty(0)
    # No points: every query counts 0; no queries: an empty answer
    assert count_within_sphere(lat, lon, empty, empty, 100.0).tolist() == [0, 0, 0]
    assert count_within_sphere(empty, empty, lat, lon, 100.0).tolist() == []
    # A radius of half the earth's circumference or more holds every point
    half_round = np.pi * EARTH_RADIUS_M
    assert count_within_sphere(lat, lon, lat, lon, half_round * 1.5).tolist() == [3, 3, 3]


def test_it_agrees_with_the_planar_count_dbscan_uses() -> None:
    # Given a dense market where most queries have neighbours in the projection's band
    rng = np.random.default_rng(11)
    p = _random(rng, 4000, 47.5, -122.2, 0.4)
    q = _random(rng, 1000, 47.5, -122.2, 0.4)
    proj = fit_common_projection(q, p)
    points = PointSet.build(p[0], p[1], proj)
    for radius_m in (100.0, 1500.0):
        # When both counts are made
        planar = count_within(PointSet.build(q[0], q[1], proj), points, cKDTree(points.xy),
                              proj, radius_m)  # fmt: skip
        # Then they agree
        np.testing.assert_array_equal(count_within_sphere(q[0], q[1], p[0], p[1], radius_m), planar)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((np.array([1.0]), np.array([1.0]), np.array([1.0]), np.array([1.0]), -5.0), "radius"),
        ((np.array([1.0]), np.array([1.0]), np.array([1.0]), np.array([1.0]), np.nan), "radius"),
        ((np.array([1.0]), np.array([1.0]), np.array([1.0]), np.array([1.0]), np.inf), "radius"),
        ((np.array([1.0, 2.0]), np.array([1.0]), np.array([1.0]), np.array([1.0]), 5.0), "one"),
        ((np.array([1.0]), np.array([1.0]), np.array([np.nan]), np.array([1.0]), 5.0), "finite"),
        ((np.array([np.inf]), np.array([1.0]), np.array([1.0]), np.array([1.0]), 5.0), "finite"),
        ((np.ones((2, 2)), np.ones((2, 2)), np.array([1.0]), np.array([1.0]), 5.0), "1-d"),
    ],
    ids=["negative", "nan_radius", "inf_radius", "lengths", "nan_point", "inf_query", "2d"],
)
def test_inputs_that_have_no_answer_are_refused(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        count_within_sphere(*args)
    with pytest.raises(ValueError, match=message):
        within_sphere(*args)


def test_a_zero_radius_counts_coincident_points_and_float32_is_read_as_float64() -> None:
    lat = np.array([47.6, 47.6, 47.6001], dtype=np.float32)
    lon = np.array([-122.3, -122.3, -122.3], dtype=np.float32)
    assert count_within_sphere(lat[:1], lon[:1], lat, lon, 0.0).tolist() == [2]
    # float32 degrees are widened before the trigonometry, as float64 of the same values
    rng = np.random.default_rng(3)
    p = _random(rng, 800, 47.6, -122.3, 0.05)
    p32 = (p[0].astype(np.float32), p[1].astype(np.float32))
    p64 = (p32[0].astype(np.float64), p32[1].astype(np.float64))
    assert np.array_equal(
        count_within_sphere(*p32, *p32, 100.0), count_within_sphere(*p64, *p64, 100.0)
    )


def test_pairs_within_agree_with_the_count() -> None:
    # Given pairs at random distances around the radius, wherever on the globe
    rng = np.random.default_rng(11)
    lat_a, lon_a = rng.uniform(-89.9, 89.9, 3000), rng.uniform(-180, 180, 3000)
    lat_b = np.clip(lat_a + rng.normal(0, 0.01, 3000), -90, 90)
    lon_b = lon_a + rng.normal(0, 0.01, 3000)
    d = haversine_m(lat_a, lon_a, lat_b, lon_b)
    radius = 1000.0
    keep = np.abs(d - radius) > 1e-6  # rounding may decide pairs on the radius either way
    inside = within_sphere(lat_a, lon_a, lat_b, lon_b, radius)
    # Then each pair is within exactly when haversine says so, and when the count finds it
    assert np.array_equal(inside[keep], (d <= radius)[keep])
    counted = [
        count_within_sphere(
            lat_a[i : i + 1], lon_a[i : i + 1], lat_b[i : i + 1], lon_b[i : i + 1], radius
        )[0]
        for i in range(0, 3000, 7)
    ]
    assert counted == inside[::7].astype(int).tolist()


def test_from_half_the_circumference_on_every_point_is_within_antipodes_included() -> None:
    # Given 2,000 points and their antipodes (unit vectors put them a rounding error either
    # side of the chord 2)
    rng = np.random.default_rng(5)
    lat, lon = rng.uniform(-89, 89, 2000), rng.uniform(-179, 179, 2000)
    a_lat, a_lon = -lat, np.where(lon > 0, lon - 180.0, lon + 180.0)
    for radius in (np.pi * EARTH_RADIUS_M, 3e7):
        assert within_sphere(lat, lon, a_lat, a_lon, radius).all()
        assert (count_within_sphere(lat, lon, a_lat, a_lon, radius) == 2000).all()
