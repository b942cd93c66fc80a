"""Give freed heap memory back to the operating system (glibc's malloc_trim); collect cyclic
garbage less often during a bulk load (`bulk_allocation`); and keep a long-running process's
start-up objects out of the collector's walks (`freeze_long_lived`). The two share Python's one
freeze (`gc.freeze`), so both live here.

A long bulk load frees as much as it allocates, batch after batch, but glibc keeps freed pages
in its arenas (one per thread: the SQLite driver's thread has its own), so the process's
resident size creeps up with the input. Trimming after each batch keeps it flat. Elsewhere than
on glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any


@cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_free_memory() -> None:
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


# Allocations between two young-generation collections during a bulk load (CPython's default is
# 700): a batch of records allocates millions of objects that reference counting frees, and
# each collection would walk them for cycles they do not have.
_BULK_GEN0_THRESHOLD = 50_000
_bulk_depth = 0
_saved_threshold: tuple[int, int, int] | None = None
# Set by `freeze_long_lived`: the process wants what lives on frozen for good.
_long_lived_frozen = False
# Allocations between two young-generation collections in a server process (CPython's default
# is 700). A young collection promotes whatever is alive then, and a worker always has a dozen
# or more requests in flight: at 700 their objects were promoted so often that CPython's rule
# for a full collection (ten older collections, and survivors a quarter of the long-lived)
# held every ~1.5 s, 30-60 ms each, during which the worker's requests waited. Measured with
# gc.callbacks in both API workers, bench/http.py mixed phase at 1M leads (2026-12-03): the
# collector took 6-10 % of each worker's CPU at 700, and 2 % at 7,000, with no full collection
# in the phase.
_SERVING_GEN0_THRESHOLD = 7_000


def freeze_long_lived() -> None:
    """Move every object alive now out of the cyclic collector's sight, for the rest of the
    process: for a server process once start-up has built its modules, routes, models and
    settings (~250k objects in an API worker). A full collection otherwise walks all of them
    each time requests push enough survivors into the oldest generation: ~130 ms of CPU on a
    loaded 2-core machine, about a tenth of a worker's time under load (py-spy, bench/http.py
    search phase). They live as long as the process, so nothing is lost (Python docs,
    `gc.freeze`: to make collections cheaper and avoid copy-on-write). A `bulk_allocation` in the
    same process then leaves the freeze alone. Young objects are then collected every
    `_SERVING_GEN0_THRESHOLD` allocations instead of 700, so requests in flight are not
    promoted into, and full collections are not triggered by, the oldest generation."""
    global _long_lived_frozen
    gc.collect()
    gc.freeze()
    gc.set_threshold(_SERVING_GEN0_THRESHOLD, *gc.get_threshold()[1:])
    _long_lived_frozen = True


@contextmanager
def bulk_allocation() -> Iterator[None]:
    """Cheaper cyclic garbage collection while a bulk load runs (measured on ingestion: ~80 us
    of collector CPU per record, ~5 with this): the objects alive at the start (modules, lookup
    tables) are frozen out of the collector's walks (`gc.freeze`), and the young generation is
    collected every 50,000 allocations instead of 700. Nested or concurrent uses share one
    setting; the last to leave restores the thresholds and unfreezes. Reference counting still
    frees everything acyclic at once, so memory use does not grow with the input. In a process
    that called `freeze_long_lived` (an API worker running a task in-process) the load only
    changes the thresholds: its long-lived objects are frozen already, and unfreezing them at
    the end would hand them back to every full collection (freezing again what lives then
    would pin whatever the load's frames, tracebacks and requests in flight hold)."""
    global _bulk_depth, _saved_threshold
    if _bulk_depth == 0:
        _saved_threshold = gc.get_threshold()
        if not _long_lived_frozen:
            gc.freeze()
        gc.set_threshold(_BULK_GEN0_THRESHOLD, *_saved_threshold[1:])
    _bulk_depth += 1
    try:
        yield
    finally:
        _bulk_depth -= 1
        if _bulk_depth == 0 and _saved_threshold is not None:
            gc.set_threshold(*_saved_threshold)
            if not _long_lived_frozen:
                gc.unfreeze()
