"""A computation for tests of one computation per key (kit.single_flight and its users): it
counts its calls and ends only when the test releases it."""

from __future__ import annotations

import asyncio


class Gate:
    """A computation that counts its calls and ends when released, with its bytes and whether
    they may be shared (or fails)."""

    def __init__(self, label: str = "bytes", *, shareable: bool = True, fail: bool = False) -> None:
        self.label = label
        self.calls = 0
        self.release = asyncio.Event()
        self.shareable = shareable
        self.fail = fail

    async def __call__(self) -> tuple[bytes, bool]:
        self.calls += 1
        call = self.calls
        await self.release.wait()
        if self.fail:
            raise RuntimeError("the database went away")
        return f"{self.label} {call}".encode(), self.shareable
