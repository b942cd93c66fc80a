"""Interactions: construction, conversion from event rows, selection."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from aiqleads.recommend.evaluation.data import Interactions, Kind


def test_from_events_codes_the_kinds_and_skips_hold_bookkeeping() -> None:
    # Given event-log rows, one of them a hold's release, one with a naive (SQLite) time
    at = datetime(2026, 11, 1, tzinfo=UTC)
    rows: list[tuple[int, int, str | int, datetime | float]] = [
        (7, 100, "view", at),
        (7, 100, "hold", datetime(2026, 11, 1)),
        (7, 100, "release", at),
        (8, 101, "purchase", 1_000.5),
        (8, 101, Kind.RETURN, 2_000.0),
    ]
    # When they become interactions
    x = Interactions.from_events(rows)
    # Then the release is gone, the kinds are coded and the times are epoch seconds
    assert len(x) == 4
    assert x.kind.tolist() == [0, 1, 2, 3]
    assert x.at.tolist() == [at.timestamp(), at.timestamp(), 1_000.5, 2_000.0]
    assert [str(a.dtype) for a in (x.user, x.item, x.kind, x.at)] == [
        "int64",
        "int64",
        "int8",
        "float64",
    ]
    assert x.items_by_user() == {7: {100}, 8: {101}}
    assert x.items_by_user([Kind.PURCHASE]) == {8: {101}}


def test_select_keeps_the_masked_rows_in_order() -> None:
    x = Interactions(
        np.array([1, 2, 3]), np.array([10, 20, 30]), np.zeros(3, np.int8), np.arange(3.0)
    )
    assert x.select(np.array([True, False, True])).item.tolist() == [10, 30]
    assert x.select(np.array([2, 0])).user.tolist() == [3, 1]
    assert x.users().tolist() == [1, 2, 3] and x.items().tolist() == [10, 20, 30]
    assert len(Interactions.empty()) == 0


def test_bad_input_is_refused_with_a_reason() -> None:
    one = np.array([1])
    with pytest.raises(ValueError, match="one length"):
        Interactions(np.array([1, 2]), one, one, np.array([0.0]))
    with pytest.raises(ValueError, match="kind must be one of"):
        Interactions(one, one, np.array([4]), np.array([0.0]))
    with pytest.raises(ValueError, match="integers"):
        Interactions(np.array([1.5]), one, one, np.array([0.0]))
    with pytest.raises(ValueError, match="finite"):
        Interactions(one, one, one, np.array([np.nan]))
    with pytest.raises(ValueError, match="row 0: unknown event kind 'click'"):
        Interactions.from_events([(1, 1, "click", 0.0)])
    with pytest.raises(ValueError, match="row 0: unknown kind code 9"):
        Interactions.from_events([(1, 1, 9, 0.0)])
