"""The pure geospatial pieces: a median with the lead itself left out, places that do not
line up, and neighbour counts that leave the lead itself out."""

from __future__ import annotations

import random
import statistics

import numpy as np
import pytest

from aiqleads.features.geospatial import Places, geo_values, median_without


def test_median_without_one_value_equals_the_median_of_the_rest() -> None:
    # Given seeded lists with repeated values, odd and even lengths
    rng = random.Random(4)
    for _ in range(500):
        values = sorted(float(rng.randrange(10)) for _ in range(rng.randrange(2, 12)))
        drop = rng.choice(values)
        rest = list(values)
        rest.remove(drop)
        # Then leaving one value out gives the median of what is left, and none out the median
        assert median_without(values, drop) == statistics.median(rest)
        assert median_without(values, None) == statistics.median(values)


def test_median_without_refuses_what_it_cannot_answer() -> None:
    with pytest.raises(ValueError, match="not in the list"):
        median_without([1.0, 2.0], 3.0)
    with pytest.raises(ValueError, match="no values left"):
        median_without([1.0], 1.0)


def test_places_whose_columns_differ_in_length_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        Places(
            ids=np.array([1, 2], dtype=np.int64),
            lat=np.array([1.0]),
            lon=np.array([1.0, 2.0]),
            kind=["fsbo", "fsbo"],
            price_usd=np.array([1.0, 2.0]),
            cell=np.array([-1, -1], dtype=np.int64),
            approximate=np.array([False, False]),
            listed=np.array([False, False]),
            scope=["other", "other"],
        )


def _places(ids: list[int], points: list[tuple[float, float]]) -> Places:
    n = len(ids)
    return Places(
        ids=np.array(ids, dtype=np.int64),
        lat=np.array([p[0] for p in points]),
        lon=np.array([p[1] for p in points]),
        kind=["for_sale"] * n,
        price_usd=np.full(n, 500_000.0),
        cell=np.full(n, -1, dtype=np.int64),
        approximate=np.zeros(n, dtype=bool),
        listed=np.ones(n, dtype=bool),
        scope=["seattle"] * n,
    )


@pytest.mark.parametrize(
    ("moved_to", "nearby"),
    [
        # geocoded 2 km away between the build's reads: its old self is not a neighbour
        ((47.618, -122.30), 1),
        # moved 300 m, still within the radius of where it was: itself still left out
        ((47.6027, -122.30), 1),
    ],
)
def test_a_lead_read_at_two_places_never_counts_itself_or_goes_negative(
    moved_to: tuple[float, float], nearby: int
) -> None:
    # Given lead 7 read at one point as a query, and at another in the population (the build
    # reads them a page at a time, and another transaction geocoded it again in between),
    # with lead 8 100 m from the query's point
    queries = _places([7], [(47.60, -122.30)])
    population = _places([7, 8], [moved_to, (47.6009, -122.30)])
    # When its neighbours within 1 km are counted
    values = geo_values(queries, population, {}, radius_m=1000.0, far_km=50.0)
    # Then lead 8 alone counts, as a lead and as a competitor
    assert values[0, :2].tolist() == [nearby, nearby]


def test_queries_that_are_not_in_the_population_count_every_neighbour() -> None:
    queries = _places([1, 2], [(47.60, -122.30), (47.70, -122.30)])
    population = _places([3, 4, 5], [(47.6001, -122.30), (47.6002, -122.30), (47.90, -122.3)])
    values = geo_values(queries, population, {}, radius_m=1000.0, far_km=50.0)
    assert values[:, 0].tolist() == [2, 0]
