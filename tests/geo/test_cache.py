"""geo.cache.get_or_compute: one computation per cold key per process, however many ask at once."""

from __future__ import annotations

import asyncio

import pytest

from aiqleads.geo.cache import get_or_compute
from aiqleads.kit.cache import MemoryCache


class Computation:
    """A computation that counts its calls and finishes when released (or fails)."""

    def __init__(self, fail_first: bool = False) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.fail_first = fail_first

    async def __call__(self) -> bytes:
        self.calls += 1
        call = self.calls
        await self.release.wait()
        if self.fail_first and call == 1:
            raise RuntimeError("the database went away")
        return f"answer {call}".encode()


async def ask(cache: MemoryCache, work: Computation, key: str = "k") -> bytes:
    return await get_or_compute(cache, key, endpoint="heatmap", ttl_seconds=60, compute=work)


async def test_requests_for_a_key_being_computed_wait_for_that_answer() -> None:
    # Given a cold key and ten requests for it arriving while the first computes
    cache, work = MemoryCache(), Computation()
    asking = [asyncio.create_task(ask(cache, work)) for _ in range(10)]
    await asyncio.sleep(0)
    # When the computation finishes
    work.release.set()
    answers = await asyncio.gather(*asking)
    # Then it ran once and every request got its answer, which is now cached
    assert work.calls == 1 and set(answers) == {b"answer 1"}
    assert await cache.get("k") == b"answer 1"
    # And another key is computed on its own
    other = Computation()
    other.release.set()
    assert await ask(cache, other, "k2") == b"answer 1" and other.calls == 1


async def test_when_the_computing_request_fails_the_waiting_ones_compute_for_themselves() -> None:
    # Given a computation that fails the first time, and two requests waiting on it
    cache, work = MemoryCache(), Computation(fail_first=True)
    first = asyncio.create_task(ask(cache, work))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(ask(cache, work)) for _ in range(2)]
    await asyncio.sleep(0)
    # When it fails
    work.release.set()
    # Then the first request gets the error, and the others an answer computed again
    with pytest.raises(RuntimeError, match="went away"):
        await first
    answers = await asyncio.gather(*waiting)
    assert all(a.startswith(b"answer ") for a in answers) and work.calls >= 2


async def test_a_waiting_request_cancelled_leaves_the_computation_to_the_others() -> None:
    # Given a computing request and two waiting on it
    cache, work = MemoryCache(), Computation()
    first = asyncio.create_task(ask(cache, work))
    await asyncio.sleep(0)
    gone, stays = (asyncio.create_task(ask(cache, work)) for _ in range(2))
    await asyncio.sleep(0)
    # When one waiting request is cancelled (its client went away), then the computation ends
    gone.cancel()
    await asyncio.sleep(0)
    work.release.set()
    # Then the others still get the one answer
    assert await first == b"answer 1" and await stays == b"answer 1"
    assert gone.cancelled() and work.calls == 1


async def test_the_computing_request_cancelled_lets_the_waiting_ones_compute() -> None:
    cache, work = MemoryCache(), Computation()
    first = asyncio.create_task(ask(cache, work))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(ask(cache, work))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    work.release.set()
    assert await waiting == b"answer 2" and work.calls == 2
