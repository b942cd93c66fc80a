"""The pure geospatial pieces: a median with the lead itself left out, and places that do not
line up."""

from __future__ import annotations

import random
import statistics

import numpy as np
import pytest

from aiqleads.features.geospatial import Places, median_without


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
