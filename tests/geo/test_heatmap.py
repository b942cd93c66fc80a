import json

import h3
import numpy as np
import pytest

from aiqleads.geo.heatmap import (
    aggregate_cells,
    cells_for_points,
    h3_heatmap,
    parent_cells,
    square_grid,
    zoom_to_resolution,
)
from tests.geo.points import Points


@pytest.mark.parametrize("res", [5, 8, 10])
def test_h3_counts_sum_to_points_on_king_county(king_county: Points, res: int) -> None:
    # given: real sale points indexed at a resolution
    cells = cells_for_points(king_county.lat, king_county.lon, res)
    # when
    agg = aggregate_cells(cells)
    fc = h3_heatmap(agg)
    # then: every point is counted once
    assert int(agg.count.sum()) == king_county.lat.size
    assert sum(f["properties"]["value"] for f in fc["features"]) == king_county.lat.size
    assert fc["legend"]["total"] == king_county.lat.size
    assert fc["legend"]["breaks"][-1] == fc["legend"]["max"]
    json.dumps(fc)


def test_cells_match_h3_string_api(rentals: Points) -> None:
    cells = cells_for_points(rentals.lat, rentals.lon, 8)
    expected = [
        h3.str_to_int(h3.latlng_to_cell(a, b, 8))
        for a, b in zip(rentals.lat, rentals.lon, strict=True)
    ]
    assert cells.tolist() == expected


def test_parents_from_res9_equal_per_point_parents(rentals: Points) -> None:
    # given: stored res-9 cells
    res9 = cells_for_points(rentals.lat, rentals.lon, 9)
    # when: rolling up to res 7 once per distinct cell
    rolled = parent_cells(res9, 7)
    # then: the same as asking H3 for every point's parent, and no point is lost
    expected = [h3.api.basic_int.cell_to_parent(int(c), 7) for c in res9]
    assert rolled.tolist() == expected
    assert int(aggregate_cells(rolled).count.sum()) == rentals.lat.size
    # H3 is not exactly nested: parents differ from direct res-7 indexing near cell edges
    direct = cells_for_points(rentals.lat, rentals.lon, 7)
    assert 0.5 < np.mean(rolled == direct) < 1.0


def test_weights_sum_and_mean_ignore_missing(rentals: Points) -> None:
    # given: the posts' monthly rents, every 10th withheld as on posts that show none
    cells = cells_for_points(rentals.lat, rentals.lon, 6)
    price = rentals.price.copy()
    price[::10] = np.nan
    # when
    agg = aggregate_cells(cells, price)
    # then: sums and means cover the known rents only
    known = np.isfinite(price)
    assert agg.weight_sum is not None and agg.weight_mean is not None
    assert agg.weight_sum.sum() == pytest.approx(price[known].sum())
    busiest = int(np.argmax(agg.count))
    in_cell = (cells == agg.cells[busiest]) & known
    assert agg.weight_mean[busiest] == pytest.approx(price[in_cell].mean())
    fc = h3_heatmap(agg, "mean")
    assert len(fc["features"]) == int(np.isfinite(agg.weight_mean).sum())


def test_cell_polygons_are_lon_lat() -> None:
    cells = cells_for_points([47.6], [-122.3], 8)
    fc = h3_heatmap(aggregate_cells(cells))
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    assert all(-123 < x < -122 and 47 < y < 48 for x, y in ring)


def test_zoom_to_resolution_is_monotone_and_clamped() -> None:
    resolutions = [zoom_to_resolution(z) for z in range(23)]
    assert resolutions == sorted(resolutions)
    assert resolutions[0] == 5 and resolutions[-1] == 10
    assert zoom_to_resolution(12) == 8
    with pytest.raises(ValueError, match="zoom"):
        zoom_to_resolution(23)


def test_resolution_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="resolution"):
        cells_for_points([47.6], [-122.3], 11)


def test_square_grid_counts_and_cell_size(king_county: Points) -> None:
    from aiqleads.geo.projection import haversine_m

    fc = square_grid(king_county.lat, king_county.lon, 2000.0)
    assert sum(f["properties"]["value"] for f in fc["features"]) == king_county.lat.size
    ring = np.array(fc["features"][0]["geometry"]["coordinates"][0])
    # each side is 2 km on the ground (to within the projection's distortion)
    sides = haversine_m(ring[:-1, 1], ring[:-1, 0], ring[1:, 1], ring[1:, 0])
    np.testing.assert_allclose(sides, 2000.0, rtol=2e-4)


def test_h3_heatmap_json_is_h3_heatmap_encoded(king_county: Points) -> None:
    import json

    from aiqleads.geo.heatmap import h3_heatmap_json

    cells = cells_for_points(king_county.lat[:3000], king_county.lon[:3000], 9)
    agg = aggregate_cells(cells, king_county.price[:3000])
    for value in ("count", "sum", "mean"):
        expected = h3_heatmap(agg, value)
        expected["total_leads"] = 3000
        fast = json.loads(h3_heatmap_json(agg, value, total_leads=3000))
        assert fast == json.loads(json.dumps(expected))
