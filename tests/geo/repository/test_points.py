"""The grouping of lead cells into places agrees with numpy's unique."""

from __future__ import annotations

import numpy as np
import pytest

from aiqleads.geo.repository.points import _groups


@pytest.mark.parametrize("n", [0, 1, 7, 50_000])
def test_groups_are_numpys_unique(n: int) -> None:
    values = np.random.default_rng(n).integers(0, 300, n) * 7919 + 613196570331971583
    first, inverse, counts = _groups(values)
    _, u_first, u_inverse, u_counts = np.unique(
        values, return_index=True, return_inverse=True, return_counts=True
    )
    np.testing.assert_array_equal(first, u_first)
    np.testing.assert_array_equal(inverse, u_inverse.reshape(-1))
    np.testing.assert_array_equal(counts, u_counts)
