import h3
import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score

from aiqleads.geo.dbscan import dbscan
from aiqleads.geo.projection import EARTH_RADIUS_M
from tests.geo.points import Points


def _sklearn(
    lat: NDArray[np.float64], lon: NDArray[np.float64], eps_m: float, min_samples: int
) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """scikit-learn's haversine DBSCAN of the points: (labels, -1 for noise; core mask)."""
    model = DBSCAN(
        eps=eps_m / EARTH_RADIUS_M,
        min_samples=min_samples,
        metric="haversine",
        algorithm="ball_tree",
    ).fit(np.radians(np.column_stack((lat, lon))))
    core = np.zeros(lat.size, dtype=bool)
    core[model.core_sample_indices_] = True
    return model.labels_, core


@pytest.mark.parametrize(("eps_m", "min_samples"), [(250, 10), (100, 5), (1000, 50), (40, 2)])
def test_agrees_with_sklearn_haversine_on_king_county(
    king_county: Points, eps_m: float, min_samples: int
) -> None:
    # given: 21.6k real sale locations
    lat, lon = king_county.lat, king_county.lon
    # when: clustering with ours and with scikit-learn's haversine ball tree
    ours = dbscan(lat, lon, eps_m, min_samples)
    sk_labels, sk_core = _sklearn(lat, lon, eps_m, min_samples)
    # then: identical core points, the same clusters, border points nearly all alike
    np.testing.assert_array_equal(ours.core, sk_core)
    assert ours.n_clusters == sk_labels.max() + 1
    assert adjusted_rand_score(sk_labels, ours.labels) >= 0.99
    np.testing.assert_array_equal(ours.labels == -1, sk_labels == -1)


@pytest.mark.parametrize(("eps_m", "min_samples"), [(300, 2), (1000, 3), (3000, 5)])
def test_agrees_with_sklearn_on_rentals(rentals: Points, eps_m: float, min_samples: int) -> None:
    # given: a few dozen to a few hundred real rental posts, dense downtown and sparse around it
    lat, lon = rentals.lat, rentals.lon
    ours = dbscan(lat, lon, eps_m, min_samples)
    sk_labels, sk_core = _sklearn(lat, lon, eps_m, min_samples)
    np.testing.assert_array_equal(ours.core, sk_core)
    assert ours.n_clusters == sk_labels.max() + 1
    assert adjusted_rand_score(sk_labels, ours.labels) >= 0.99


def test_is_deterministic_and_numbered_by_smallest_index(king_county: Points) -> None:
    # given: the same input twice, once with the points shuffled
    lat, lon = king_county.lat, king_county.lon
    first = dbscan(lat, lon, 250, 10)
    second = dbscan(lat.copy(), lon.copy(), 250, 10)
    perm = np.random.default_rng(3).permutation(lat.size)
    shuffled = dbscan(lat[perm], lon[perm], 250, 10)
    # then: identical labels; a shuffle keeps the core set and the partition of core points
    np.testing.assert_array_equal(first.labels, second.labels)
    np.testing.assert_array_equal(shuffled.core, first.core[perm])
    core = first.core[perm]
    assert adjusted_rand_score(first.labels[perm][core], shuffled.labels[core]) == 1.0
    # and cluster k's smallest member index increases with k
    smallest = [int(np.flatnonzero(first.labels == k)[0]) for k in range(first.n_clusters)]
    assert smallest == sorted(smallest)


def test_small_hand_made_case() -> None:
    # given: three points 50 m apart on a meridian, one 5 km away
    step = 50.0 / EARTH_RADIUS_M * 180.0 / np.pi
    lat = np.array([47.0, 47.0 + step, 47.0 + 2 * step, 47.05])
    lon = np.full(4, -122.0)
    # when: eps 60 m, min_samples 2 (a point counts itself)
    result = dbscan(lat, lon, 60.0, 2)
    # then: one cluster of three, one noise point
    assert result.labels.tolist() == [0, 0, 0, -1]
    assert result.core.tolist() == [True, True, True, False]
    # a border point: with min_samples 3 only the middle point is core
    result = dbscan(lat, lon, 60.0, 3)
    assert result.labels.tolist() == [0, 0, 0, -1]
    assert result.core.tolist() == [False, True, False, False]


def test_memory_bounded_batches_give_the_same_answer(king_county: Points) -> None:
    # given: a tiny batch budget that forces every exhaustive check into many batches
    big = dbscan(king_county.lat, king_county.lon, 300, 8)
    small = dbscan(king_county.lat, king_county.lon, 300, 8, max_pairs=500)
    np.testing.assert_array_equal(big.labels, small.labels)
    np.testing.assert_array_equal(big.core, small.core)


def test_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="eps_m"):
        dbscan([47.0], [-122.0], 0.0, 2)
    with pytest.raises(ValueError, match="min_samples"):
        dbscan([47.0], [-122.0], 10.0, 0)
    assert dbscan([], [], 10.0, 2).labels.size == 0


def test_agrees_with_sklearn_across_a_wide_region() -> None:
    # given: points spread over ~700 km, where the plane stretches distances by ~1e-3,
    # so many pairs fall in the band that must be settled with haversine
    rng = np.random.default_rng(21)
    lat, lon = rng.uniform(44.0, 50.0, 8000), rng.uniform(-125.0, -117.0, 8000)
    ours = dbscan(lat, lon, 9000.0, 3)
    sk_labels, sk_core = _sklearn(lat, lon, 9000.0, 3)
    np.testing.assert_array_equal(ours.core, sk_core)
    assert ours.n_clusters == sk_labels.max() + 1
    assert adjusted_rand_score(sk_labels, ours.labels) >= 0.99


def _places(
    lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Distinct points in order of their first copy: (lat, lon, copies, place of each point)."""
    _, first, inverse, counts = np.unique(
        np.column_stack((lat, lon)), axis=0, return_index=True, return_inverse=True,
        return_counts=True,
    )  # fmt: skip
    order = np.argsort(first)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return lat[first[order]], lon[first[order]], counts[order], rank[inverse.reshape(-1)]


@pytest.mark.parametrize(
    ("snap", "eps_m", "min_samples"), [(8, 900, 10), (8, 900, 40), (9, 400, 5), (None, 250, 10)]
)
def test_weighted_places_cluster_as_their_repeated_points(
    king_county: Points, snap: int | None, eps_m: float, min_samples: int
) -> None:
    # given: real sales standing at their H3 cells' centres (as agents see them), or at their
    # own points (rounded to 0.001° in the file, so some coincide)
    lat, lon = king_county.lat, king_county.lon
    if snap is not None:
        centres = [
            h3.cell_to_latlng(h3.latlng_to_cell(a, o, snap)) for a, o in zip(lat, lon, strict=True)
        ]
        lat, lon = np.array([c[0] for c in centres]), np.array([c[1] for c in centres])
    p_lat, p_lon, copies, place = _places(lat, lon)
    assert copies.max() > 1
    # when: clustering every point, and the distinct places weighted by their copies
    each = dbscan(lat, lon, eps_m, min_samples)
    weighted = dbscan(p_lat, p_lon, eps_m, min_samples, weights=copies)
    # then: every point has its place's core status and label (numbering included)
    np.testing.assert_array_equal(weighted.core[place], each.core)
    np.testing.assert_array_equal(weighted.labels[place], each.labels)
    assert each.n_clusters > 1 and (each.labels == -1).any()


def test_weighted_core_points_with_memory_bounded_batches(king_county: Points) -> None:
    p_lat, p_lon, copies, _ = _places(king_county.lat, king_county.lon)
    big = dbscan(p_lat, p_lon, 300, 8, weights=copies)
    small = dbscan(p_lat, p_lon, 300, 8, weights=copies, max_pairs=500)
    np.testing.assert_array_equal(big.labels, small.labels)
    np.testing.assert_array_equal(big.core, small.core)


def test_weights_count_towards_min_samples() -> None:
    # given: two places 50 m apart, one standing for 3 points
    step = 50.0 / EARTH_RADIUS_M * 180.0 / np.pi
    lat, lon = np.array([47.0, 47.0 + step]), np.array([-122.0, -122.0])
    # then: with 4 points needed both are core (3 + 1 within 60 m); with 5, neither
    assert dbscan(lat, lon, 60.0, 4, weights=[3, 1]).core.tolist() == [True, True]
    assert dbscan(lat, lon, 60.0, 5, weights=[3, 1]).labels.tolist() == [-1, -1]
    # and a place alone reaches min_samples by its own weight
    assert dbscan(lat, lon, 10.0, 3, weights=[3, 1]).labels.tolist() == [0, -1]


def test_rejects_bad_weights() -> None:
    for weights in ([1], [1, 0], [1, 1.5], [1, -2]):
        with pytest.raises(ValueError, match="weights"):
            dbscan([47.0, 47.1], [-122.0, -122.0], 10.0, 2, weights=weights)


def test_border_points_take_their_nearest_core_points_cluster_up_to_eps() -> None:
    # given: groups of 12 points in discs of 0.45 eps (all core: every pair is within eps),
    # spread over one or two grid cells, with lone points around them at 0.8 to 1.45 eps from
    # the centre, which reach only some of a group: their core neighbours lie one or two grid
    # cells away, where the core and border searches look (dbscan._near)
    rng = np.random.default_rng(7)
    eps_m, min_samples = 100.0, 10
    metres_per_deg_lat = np.pi * EARTH_RADIUS_M / 180

    def around(lat0: float, lon0: float, reach: NDArray[np.float64]) -> NDArray[np.float64]:
        bearing = rng.uniform(0, 2 * np.pi, reach.size)
        m_lon = metres_per_deg_lat * np.cos(np.radians(lat0))
        return np.column_stack(
            (lat0 + reach * np.cos(bearing) / metres_per_deg_lat,
             lon0 + reach * np.sin(bearing) / m_lon)
        )  # fmt: skip

    parts = []
    centres = zip(rng.uniform(47.5, 47.7, 60), rng.uniform(-122.4, -122.2, 60), strict=True)
    for lat0, lon0 in centres:
        parts.append(around(lat0, lon0, 0.45 * eps_m * np.sqrt(rng.uniform(0, 1, 12))))
        parts.append(around(lat0, lon0, rng.uniform(0.8, 1.45, 15) * eps_m))
    pts = np.concatenate(parts)
    order = rng.permutation(len(pts))  # lone points and group members interleaved by index
    lat, lon = pts[order, 0], pts[order, 1]
    # when
    ours = dbscan(lat, lon, eps_m, min_samples)
    # then: the core points are scikit-learn's
    _, sk_core = _sklearn(lat, lon, eps_m, min_samples)
    np.testing.assert_array_equal(ours.core, sk_core)
    # and each other point has the label of its nearest core point within eps (ties to the
    # smallest index), or none: found here by brute force over every core point
    core_idx = np.flatnonzero(ours.core)
    border = np.flatnonzero(~ours.core)
    rad_lat, rad_lon = np.radians(lat), np.radians(lon)
    dlat = rad_lat[core_idx][None, :] - rad_lat[border][:, None]
    dlon = rad_lon[core_idx][None, :] - rad_lon[border][:, None]
    cos_product = np.cos(rad_lat[border])[:, None] * np.cos(rad_lat[core_idx])[None, :]
    hav = np.sin(dlat / 2) ** 2 + cos_product * np.sin(dlon / 2) ** 2
    dist = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(hav))
    nearest = np.argmin(dist, axis=1)  # the first minimum: the smallest core index
    reached = dist[np.arange(border.size), nearest] <= eps_m
    expected = np.where(reached, ours.labels[core_idx[nearest]], -1)
    assert int(reached.sum()) > 200 and int((~reached).sum()) > 20
    np.testing.assert_array_equal(ours.labels[border], expected)


@pytest.mark.parametrize(
    ("lat", "lon", "eps_m", "min_samples"),
    [
        pytest.param(
            [-0.01600132444894384, -0.015551664267081572, -0.015102004085219303,
             -0.024904596049816766, -0.6312, 0.6312] * 2,
            [85.0] * 6 + [-85.0] * 6,
            1000.0,
            3,
            id="data-170-degrees-wide",  # the projection stretches its edges by over sqrt 2
        ),
        pytest.param(
            [10.0, 10.0, 10.0, 10.0, 10.0000000001],
            [20.000000000034] * 3 + [20.000000000060574, 20.000000000021142],
            3e-6,
            3,
            id="micrometre-eps",  # the projection's slack dominates the radius
        ),
    ],
)  # fmt: skip
def test_neighbours_more_than_two_cells_apart_are_still_found(
    lat: list[float], lon: list[float], eps_m: float, min_samples: int
) -> None:
    # given: inputs where two points within eps can lie three or more grid cells apart (a
    # reviewer's cases: the core and border searches looked two cells around only)
    la, lo = np.array(lat), np.array(lon)
    ours = dbscan(la, lo, eps_m, min_samples)
    sk_labels, sk_core = _sklearn(la, lo, eps_m, min_samples)
    # then: scikit-learn's core points and clusters
    np.testing.assert_array_equal(ours.core, sk_core)
    assert adjusted_rand_score(sk_labels, ours.labels) == 1.0
