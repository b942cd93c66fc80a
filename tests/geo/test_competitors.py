import h3
import numpy as np
import pytest

from aiqleads.geo.competitors import competition_by_cell, competitors_near
from aiqleads.geo.heatmap import cells_for_points
from aiqleads.geo.projection import haversine_m
from tests.geo.points import Points


@pytest.mark.parametrize("radius_m", [300.0, 1500.0])
def test_matches_brute_force_haversine(king_county: Points, radius_m: float) -> None:
    # given: 300 of an agent's leads in King County and 5,000 competitor listings
    rng = np.random.default_rng(11)
    q = rng.choice(king_county.lat.size, 300, replace=False)
    c = rng.choice(king_county.lat.size, 5000, replace=False)
    q_lat, q_lon = king_county.lat[q], king_county.lon[q]
    c_lat, c_lon = king_county.lat[c], king_county.lon[c]
    offices = [f"office-{i % 7}" if i % 5 else None for i in range(c.size)]
    # when
    res = competitors_near(q_lat, q_lon, c_lat, c_lon, radius_m, offices=offices, top_n=3)
    # then: every number equals the brute-force haversine answer
    dist = haversine_m(q_lat[:, None], q_lon[:, None], c_lat[None, :], c_lon[None, :])
    np.testing.assert_array_equal(res.count, (dist <= radius_m).sum(axis=1))
    np.testing.assert_allclose(res.nearest_m, dist.min(axis=1), rtol=1e-12, atol=1e-9)
    best = dist.min(axis=1)
    assert np.all(dist[np.arange(300), res.nearest_index] == best)
    # numpy's stubs type .any(axis=...) as a scalar or an array; with a 2-D input it is an array.
    near = np.asarray((dist <= radius_m).any(axis=0))
    tally: dict[str, int] = {}
    for o, hit in zip(offices, near, strict=True):
        if hit and o:
            tally[o] = tally.get(o, 0) + 1
    expected = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert res.top_offices == expected


def test_one_query_point_far_from_everything(rentals: Points) -> None:
    # given: a query point in Portland OR, over 150 km from any of the posts
    lat, lon = 45.52, -122.68
    res = competitors_near([lat], [lon], rentals.lat, rentals.lon, 1000.0)
    assert res.count.tolist() == [0]
    expected = haversine_m(lat, lon, rentals.lat, rentals.lon).min()
    assert expected > 150_000
    assert res.nearest_m[0] == pytest.approx(expected)


def test_competition_per_cell(rentals: Points) -> None:
    comp_cells = cells_for_points(rentals.lat, rentals.lon, 7)
    lead_cells = comp_cells[:50]
    out = competition_by_cell(comp_cells, lead_cells)
    assert int(out.competitors.sum()) == comp_cells.size
    assert int(out.leads.sum()) == 50
    i = int(np.argmax(out.competitors))
    area = h3.cell_area(h3.int_to_str(int(out.cells[i])), unit="km^2")
    assert out.per_km2[i] == pytest.approx(out.competitors[i] / area)
    no_leads = out.leads == 0
    assert np.all(np.isnan(out.per_lead[no_leads]))
    assert np.allclose(out.per_lead[~no_leads], out.competitors[~no_leads] / out.leads[~no_leads])


def test_places_weighted_by_their_competitors_answer_as_the_repeated_points(
    king_county: Points,
) -> None:
    # given: competitors at their preview cells' centres (as agents see them), once one by one
    # and once as distinct places with their counts; query points at real sales
    rng = np.random.default_rng(5)
    c = rng.choice(king_county.lat.size, 6000, replace=False)
    cells = cells_for_points(king_county.lat[c], king_county.lon[c], 8)
    places, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
    centres = np.array([h3.cell_to_latlng(h3.int_to_str(int(p))) for p in places])
    q = rng.choice(king_county.lat.size, 200, replace=False)
    q_lat, q_lon = king_county.lat[q], king_county.lon[q]
    offices = [f"office-{i % 3}" for i in range(places.size)]
    # when
    each = competitors_near(
        q_lat, q_lon, centres[inverse, 0], centres[inverse, 1], 1000.0,
        offices=[offices[i] for i in inverse.tolist()], top_n=2,
    )  # fmt: skip
    grouped = competitors_near(
        q_lat, q_lon, centres[:, 0], centres[:, 1], 1000.0, offices=offices, top_n=2,
        weights=counts,
    )  # fmt: skip
    # then: the same counts, nearest distances and top offices
    np.testing.assert_array_equal(grouped.count, each.count)
    assert each.count.max() > counts.max()  # some circles reach several places
    np.testing.assert_array_equal(grouped.nearest_m, each.nearest_m)
    assert grouped.top_offices == each.top_offices
    # and per cell, the same competition
    by_cell = competition_by_cell(places, cells[:50], counts)
    one_by_one = competition_by_cell(cells, cells[:50])
    np.testing.assert_array_equal(by_cell.competitors, one_by_one.competitors)
    np.testing.assert_array_equal(by_cell.per_km2, one_by_one.per_km2)
    with pytest.raises(ValueError, match="weights"):
        competitors_near(q_lat, q_lon, centres[:, 0], centres[:, 1], 1000.0, weights=counts[1:])
