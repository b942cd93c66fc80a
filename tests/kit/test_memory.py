from __future__ import annotations

import gc

from aiqleads.kit.memory import bulk_allocation


def test_a_bulk_load_collects_less_often_and_restores_the_collector_after() -> None:
    # Given the collector's thresholds before a bulk load
    before = gc.get_threshold()
    # When a bulk load runs, with another nested inside it
    with bulk_allocation():
        during = gc.get_threshold()
        frozen = gc.get_freeze_count()
        with bulk_allocation():
            nested = gc.get_threshold()
        after_nested = gc.get_threshold()
    # Then the young generation is collected far less often, and the objects alive at the
    # start are out of the collector's walks, until the outermost load ends
    assert during[0] > before[0] and during[1:] == before[1:]
    assert frozen > 0
    assert nested == during == after_nested
    # And afterwards the collector is as it was
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_an_error_inside_a_bulk_load_still_restores_the_collector() -> None:
    before = gc.get_threshold()
    try:
        with bulk_allocation():
            raise RuntimeError("a failed run")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
