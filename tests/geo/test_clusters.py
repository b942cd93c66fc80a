import h3
import numpy as np
import pytest

from aiqleads.geo.clusters import summarize_clusters
from aiqleads.geo.dbscan import dbscan
from aiqleads.geo.projection import LocalProjection
from tests.geo.points import Points


def _square(lat0: float, lon0: float, side_m: float) -> tuple[np.ndarray, np.ndarray]:
    proj = LocalProjection.around(lat0, lon0)
    h = side_m / 2
    return proj.inverse(np.array([-h, h, h, -h, 0.0]), np.array([-h, -h, h, h, 0.0]))


def test_hull_area_of_a_hand_made_square() -> None:
    # given: a 1 km x 1 km square (plus its centre) laid out in metres around Seattle
    lat, lon = _square(47.6, -122.3, 1000.0)
    price = np.array([100.0, 200.0, np.nan, 400.0, 300.0])
    # when
    summary = summarize_clusters(lat, lon, np.zeros(5, dtype=int), price)
    # then: 1 km², 5 leads/km², median of the four known prices, centroid at the centre
    (c,) = summary.clusters
    assert c.size == 5
    assert c.area_km2 == pytest.approx(1.0, rel=1e-6)
    assert c.density_per_km2 == pytest.approx(5.0, rel=1e-6)
    assert c.median_price == 250.0
    assert (c.centroid_lat, c.centroid_lon) == pytest.approx((47.6, -122.3), abs=1e-6)
    assert c.hull["type"] == "Polygon"
    ring = c.hull["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    # GeoJSON order is lon, lat
    assert all(-123 < x < -122 and 47 < y < 48 for x, y in ring)
    assert summary.noise_count == 0


def test_degenerate_clusters_and_noise() -> None:
    # given: a cluster of one repeated point, a collinear cluster, and noise without prices
    lat = np.array([47.0, 47.0, 47.0, 47.1, 47.11, 47.12, 40.0])
    lon = np.array([-122.0, -122.0, -122.0, -122.0, -122.0, -122.0, -100.0])
    labels = np.array([0, 0, 0, 1, 1, 1, -1])
    summary = summarize_clusters(lat, lon, labels)
    first, second = summary.clusters
    assert first.hull["type"] == "Point" and first.area_km2 == 0.0
    assert first.density_per_km2 is None and first.median_price is None
    assert second.hull["type"] == "LineString" and second.density_per_km2 is None
    assert summary.noise_count == 1
    geojson = summary.to_geojson()
    assert [f["id"] for f in geojson["features"]] == [0, 1]
    assert geojson["noise_count"] == 1


def test_summaries_of_king_county_clusters(king_county: Points) -> None:
    # given: DBSCAN clusters of real sales
    result = dbscan(king_county.lat, king_county.lon, 250, 10)
    summary = summarize_clusters(king_county.lat, king_county.lon, result.labels, king_county.price)
    # then: sizes add up and each median is that cluster's median price
    assert sum(c.size for c in summary.clusters) + summary.noise_count == king_county.lat.size
    assert len(summary.clusters) == result.n_clusters
    biggest = max(summary.clusters, key=lambda c: c.size)
    members = result.labels == biggest.cluster_id
    assert biggest.median_price == float(np.median(king_county.price[members]))
    assert biggest.area_km2 > 0 and biggest.density_per_km2 is not None


def test_weighted_places_summarize_as_their_repeated_points(king_county: Points) -> None:
    # given: real sales at their preview cells' centres (as agents see them), clustered one by
    # one, and the distinct cells weighted by their sales
    cells = np.array(
        [
            h3.str_to_int(h3.latlng_to_cell(a, o, 8))
            for a, o in zip(king_county.lat, king_county.lon, strict=True)
        ]
    )
    _, first, inverse, copies = np.unique(
        cells, return_index=True, return_inverse=True, return_counts=True
    )
    order = np.argsort(first)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    place = rank[inverse.reshape(-1)]
    p_cells = cells[first[order]]
    centres = [h3.cell_to_latlng(h3.int_to_str(int(c))) for c in p_cells]
    p_lat, p_lon = np.array([c[0] for c in centres]), np.array([c[1] for c in centres])
    lat, lon = p_lat[place], p_lon[place]
    price = king_county.price.copy()
    price[::7] = np.nan  # some unknown prices
    labels = dbscan(lat, lon, 900, 30).labels
    labels[labels == 2] = -1  # a noise place among clusters
    p_labels = dbscan(p_lat, p_lon, 900, 30, weights=copies[order]).labels
    p_labels[p_labels == 2] = -1
    # when
    each = summarize_clusters(lat, lon, labels, price, cells=cells)
    weighted = summarize_clusters(
        p_lat, p_lon, p_labels, price, cells=p_cells, weights=copies[order], price_point=place
    )
    # then: the same clusters, sizes, hulls, areas, densities and median prices; the centroids
    # are sums taken in another order: equal up to float rounding
    assert weighted.noise_count == each.noise_count > 0
    assert len(weighted.clusters) == len(each.clusters) > 2
    for w, e in zip(weighted.clusters, each.clusters, strict=True):
        assert (w.cluster_id, w.size, w.hull, w.area_km2) == (
            e.cluster_id,
            e.size,
            e.hull,
            e.area_km2,
        )
        assert (w.density_per_km2, w.median_price) == (e.density_per_km2, e.median_price)
        assert (w.centroid_lat, w.centroid_lon) == pytest.approx(
            (e.centroid_lat, e.centroid_lon), abs=1e-9
        )
    with pytest.raises(ValueError, match="price_point"):
        summarize_clusters(
            p_lat, p_lon, p_labels, price, weights=copies[order], price_point=place + 1
        )
