"""A process's memo of cache key inputs (`geo.repository.cache_inputs.key_inputs`): the data
versions, window edge and last lapsed hold a catalog page's or a map layer's key is made of.

Reading them is one statement, but it is the one database round trip of a cached search or map
layer: with the statement and its socket writes, a fifth of an API worker's CPU at 1,000
requests/s (py-spy, bench/http.py at 1M leads). Kept here, a hit costs a dictionary look-up.

What a kept entry may miss, and for how long:

* time passing: never. An entry holds only for the cutoffs and instants its own read vouches
  for (`KeyInputs.holds_at`): up to the next publication after the window's cutoff and up to the
  next end of a hold, both read with it. A lead leaving a tier's window or a hold lapsing
  changes the key at that instant, as a read would.
* a write of this process: never. Every commit that bumps a data version moves
  `leads.versions.generation`, and an entry read before it is not used again.
* a write of another process (another API worker, the background worker, ingestion): for up to
  `AIQ_KEY_MEMO_SECONDS` (1 s), after which the entry is read again. A search then answers as it
  would have that long before, which a request racing the write could do anyway; holds, sales
  and contacts are always decided on the rows themselves, never on a cached page.

0 seconds turns the memo off (`AppState` then passes none).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from aiqleads.leads import versions
from aiqleads.observability.metrics import CACHE_HITS, CACHE_MISSES

if TYPE_CHECKING:
    from aiqleads.geo.repository.cache_inputs import KeyInputs

# The scopes of an area (`Area.scopes`) and the length of the read's window in whole seconds
# (`now - cutoff`; None: no window). Each tier has its own window, hence its own entry: with one
# entry for every window, a lead published between two tiers' cutoffs made each tier's read
# fail the other's `holds_at` and replace it, and neither was kept for long.
_Key = tuple[tuple[str, ...], int | None]


def _key(scopes: Sequence[str], cutoff: datetime | None, now: datetime) -> _Key:
    # Rounded: a request's cutoff and instant may come from two readings of its clock.
    window = None if cutoff is None else round((now - cutoff).total_seconds())
    return tuple(scopes), window


class KeyMemo:
    """Key inputs by (scopes, window length), each kept for at most `seconds` of `monotonic` time
    and until this process commits a version bump; at most `max_entries`, least recently used
    dropped first. Raises ValueError for `seconds` <= 0 or `max_entries` < 1."""

    def __init__(
        self,
        *,
        seconds: float,
        max_entries: int = 1024,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, not {seconds!r}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, not {max_entries!r}")
        self._seconds = seconds
        self._max = max_entries
        self._monotonic = monotonic
        # key -> (inputs, monotonic time of the read, versions.generation() before it)
        self._entries: OrderedDict[_Key, tuple[KeyInputs, float, int]] = OrderedDict()

    def get(
        self, scopes: Sequence[str], *, cutoff: datetime | None, now: datetime
    ) -> KeyInputs | None:
        """The inputs kept for these scopes and this window, if they still hold at `cutoff`
        and `now`."""
        key = _key(scopes, cutoff, now)
        found = self._entries.get(key)
        if found is not None:
            inputs, read_at, generation = found
            fresh = self._monotonic() - read_at < self._seconds
            if (
                fresh
                and generation == versions.generation()
                and inputs.holds_at(cutoff=cutoff, now=now)
            ):
                self._entries.move_to_end(key)
                CACHE_HITS.labels("key_inputs").inc()
                return inputs
        CACHE_MISSES.labels("key_inputs").inc()
        return None

    def before_read(self) -> tuple[float, int]:
        """Taken before the database read whose result goes to `put`: a commit of this process
        during the read leaves the entry already out of date."""
        return self._monotonic(), versions.generation()

    def put(
        self,
        scopes: Sequence[str],
        inputs: KeyInputs,
        *,
        cutoff: datetime | None,
        now: datetime,
        token: tuple[float, int],
    ) -> None:
        """Keep what a read for `scopes`, `cutoff` and `now` (begun at `token`, from
        `before_read`) found."""
        key = _key(scopes, cutoff, now)
        self._entries[key] = (inputs, *token)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
