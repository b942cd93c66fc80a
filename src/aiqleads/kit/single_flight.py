"""One computation per key at a time in a process: a caller asking for a key already being
computed waits for that computation's bytes instead of computing them again ("single flight",
the name Go's golang.org/x/sync/singleflight gives the pattern).

This is what stops a cache stampede: when an answer's data version moves, every client that
was reading it asks for the same cold answer at once (every open map of a metro, or five agents
paging the same search), and each computation is a scan. Per process: the processes of a
deployment compute a cold answer once each at most, not once per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class SingleFlight:
    """The computations running in this process, by key. Only touched from the event loop."""

    def __init__(self) -> None:
        # Each future gets the computation's bytes to share, or None when it failed, was
        # cancelled or had nothing every waiter may read (each waiter then computes for itself).
        self._running: dict[str, asyncio.Future[bytes | None]] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def wait(self, key: str) -> bytes | None:
        """The bytes of the computation of `key` running now, once it ends; None at once when
        none runs, and None when it ends without bytes to share."""
        pending = self._running.get(key)
        if pending is None:
            return None
        # shield: this caller's own cancellation must not cancel the shared future.
        return await asyncio.shield(pending)

    async def run(self, key: str, compute: Callable[[], Awaitable[tuple[bytes, bool]]]) -> bytes:
        """Run `compute` (which returns its bytes and whether every waiter may have them) as
        the computation of `key` that `wait` waits for, and return its bytes. When another
        computation of `key` has started meanwhile, this one runs on its own, unseen. Raises
        what `compute` raises; its waiters then get None."""
        mine: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        leading = key not in self._running
        if leading:
            self._running[key] = mine
        shared: bytes | None = None
        try:
            body, shareable = await compute()
            if shareable:
                shared = body
            return body
        finally:
            if leading:
                del self._running[key]
                mine.set_result(shared)
