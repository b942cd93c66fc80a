import numpy as np
import pytest

from aiqleads.geo.projection import EARTH_RADIUS_M, LocalProjection, haversine_m
from tests.geo.points import Points


def test_haversine_matches_known_distances() -> None:
    # given: one degree of a meridian, and a quarter of the equator
    # when / then: they equal the arc lengths on the mean-radius sphere
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(np.pi / 180 * EARTH_RADIUS_M)
    assert haversine_m(0.0, 0.0, 0.0, 90.0) == pytest.approx(np.pi / 2 * EARTH_RADIUS_M)
    # Seattle Space Needle to Pike Place Market: about 1.73 km on published maps.
    d = float(haversine_m(47.6205, -122.3493, 47.6097, -122.3422))
    assert 1_250 < d < 1_400
    # Seattle–Portland city halls: 234 km great-circle.
    assert float(haversine_m(47.6036, -122.3294, 45.5152, -122.6784)) == pytest.approx(
        233_600, rel=0.01
    )


def test_haversine_is_vectorised_and_symmetric() -> None:
    rng = np.random.default_rng(1)
    lat1, lon1 = rng.uniform(-60, 60, 100), rng.uniform(-180, 180, 100)
    lat2, lon2 = rng.uniform(-60, 60, 100), rng.uniform(-180, 180, 100)
    d12 = haversine_m(lat1, lon1, lat2, lon2)
    assert d12.shape == (100,)
    np.testing.assert_allclose(d12, haversine_m(lat2, lon2, lat1, lon1))


def test_projection_round_trip(king_county: Points) -> None:
    # given: real King County sale locations
    proj = LocalProjection.fit(king_county.lat, king_county.lon)
    # when: projecting forward and back
    x, y = proj.forward(king_county.lat, king_county.lon)
    lat, lon = proj.inverse(x, y)
    # then: coordinates come back to within a micrometre
    np.testing.assert_allclose(lat, king_county.lat, atol=1e-11)
    np.testing.assert_allclose(lon, king_county.lon, atol=1e-11)


def test_projection_distortion_bound_holds(king_county: Points) -> None:
    # given: random pairs among the King County points
    proj = LocalProjection.fit(king_county.lat, king_county.lon)
    x, y = proj.forward(king_county.lat, king_county.lon)
    rng = np.random.default_rng(2)
    i, j = rng.integers(0, x.size, 50_000), rng.integers(0, x.size, 50_000)
    true = haversine_m(
        king_county.lat[i], king_county.lon[i], king_county.lat[j], king_county.lon[j]
    )
    planar = np.hypot(x[i] - x[j], y[i] - y[j])
    # then: true <= planar <= max_scale * true (up to rounding), and the bound is tight-ish
    assert np.all(planar >= true - 1e-6)
    assert np.all(planar <= proj.max_scale * true + 1e-6)
    assert 1.0 < proj.max_scale < 1.0001


def test_distance_from_centre_is_exact() -> None:
    proj = LocalProjection.around(47.5, -122.2)
    x, y = proj.forward([47.9], [-121.7])
    assert float(np.hypot(x, y)[0]) == pytest.approx(float(haversine_m(47.5, -122.2, 47.9, -121.7)))


def test_projection_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="NaN"):
        LocalProjection.fit([np.nan], [0.0])
    with pytest.raises(ValueError, match=r"hemisphere|globe"):
        LocalProjection.fit([0.0, 0.0, 0.0], [0.0, 120.0, -120.0])
