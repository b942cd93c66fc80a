from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from aiqleads.kit import memory
from aiqleads.kit.memory import bulk_allocation, freeze_long_lived


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


@pytest.fixture
def long_lived_frozen() -> Iterator[None]:
    """This process as an API worker is after start-up (`freeze_long_lived`), undone after."""
    thresholds = gc.get_threshold()
    freeze_long_lived()
    try:
        yield
    finally:
        memory._long_lived_frozen = False
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_a_server_process_collects_its_young_objects_less_often(long_lived_frozen: None) -> None:
    # Requests in flight at a young collection would be promoted, and full collections follow
    young, older, oldest = gc.get_threshold()
    assert young == memory._SERVING_GEN0_THRESHOLD > 700
    # And a bulk load in it gives back the server's thresholds, not CPython's defaults
    with bulk_allocation():
        assert gc.get_threshold()[0] == 50_000
    assert gc.get_threshold() == (young, older, oldest)


def test_a_bulk_load_in_a_server_process_leaves_its_long_lived_objects_frozen(
    long_lived_frozen: None,
) -> None:
    # Given a process that froze what start-up built
    frozen = gc.get_freeze_count()
    assert frozen > 0
    # When a bulk load runs in it (an in-process task) and ends
    with bulk_allocation():
        during = gc.get_threshold()
        garbage = [[object()] for _ in range(1000)]
        del garbage
    # Then the objects frozen before stay frozen and none is added (reference counting may
    # free a few meanwhile), and the thresholds are back
    assert during[0] == 50_000
    assert frozen - 1000 <= gc.get_freeze_count() <= frozen
    assert gc.get_threshold()[0] == memory._SERVING_GEN0_THRESHOLD


class _Node:
    other: object = None
    payload: object = None


def test_a_cycle_alive_when_a_bulk_load_ends_is_not_pinned(long_lived_frozen: None) -> None:
    # Given a cycle holding a large payload that is still alive when the load ends (as the
    # frames and traceback of a load that failed are, or a request in flight)
    with bulk_allocation():
        node = _Node()
        node.other = node
        node.payload = bytearray(10_000_000)
    alive = weakref.ref(node)
    # When it is dropped after the load, and the collector runs
    del node
    gc.collect()
    # Then it was collected: nothing the load left alive was frozen for good
    assert alive() is None
