"""kit.single_flight: callers of a key being computed wait for its bytes, and only for bytes
every waiter may read."""

from __future__ import annotations

import asyncio

import pytest

from aiqleads.kit.single_flight import SingleFlight
from tests.gates import Gate


async def test_nothing_running_means_nothing_to_wait_for() -> None:
    flights = SingleFlight()
    assert await flights.wait("k") is None and len(flights) == 0


async def test_waiters_get_the_running_computations_bytes() -> None:
    # Given a computation of "k" running, and three callers waiting for "k"
    flights, gate = SingleFlight(), Gate()
    running = asyncio.create_task(flights.run("k", gate))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(flights.wait("k")) for _ in range(3)]
    await asyncio.sleep(0)
    # When it ends
    gate.release.set()
    # Then every waiter has its bytes, it ran once, and nothing is left running
    assert await running == b"bytes 1"
    assert await asyncio.gather(*waiting) == [b"bytes 1"] * 3
    assert gate.calls == 1 and len(flights) == 0


@pytest.mark.parametrize(("shareable", "fail"), [(False, False), (True, True)])
async def test_waiters_get_nothing_from_bytes_not_theirs_or_a_failure(
    shareable: bool, fail: bool
) -> None:
    # Given a computation whose bytes are not for every caller (a page with a lead its caller
    # bought), or that fails
    flights, gate = SingleFlight(), Gate(shareable=shareable, fail=fail)
    running = asyncio.create_task(flights.run("k", gate))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(flights.wait("k"))
    await asyncio.sleep(0)
    gate.release.set()
    # Then its caller gets its bytes (or its error) and the waiter nothing, to compute its own
    if fail:
        with pytest.raises(RuntimeError, match="went away"):
            await running
    else:
        assert await running == b"bytes 1"
    assert await waiting is None and len(flights) == 0


async def test_a_second_run_of_a_running_key_runs_unseen() -> None:
    # Given a computation of "k" running, and a second one started for "k" meanwhile
    flights, first, second = SingleFlight(), Gate("first"), Gate("second")
    one = asyncio.create_task(flights.run("k", first))
    await asyncio.sleep(0)
    two = asyncio.create_task(flights.run("k", second))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(flights.wait("k"))
    await asyncio.sleep(0)
    # When the second ends first
    second.release.set()
    assert await two == b"second 1"
    # Then the waiter still waits for the first, and gets its bytes
    assert not waiting.done()
    first.release.set()
    assert await one == await waiting == b"first 1" and len(flights) == 0
