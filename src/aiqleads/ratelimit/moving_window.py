"""The moving-window count in Redis, taken and reported in one round trip.

The `limits` package counts a moving window in Redis with one script (`acquire_entry`) and
reports it with a second (`get_moving_window`), so a limited request that answers the
`RateLimit-*` headers makes two round trips; there is no call that does both. This script does
both at once on the same data, in the same layout (a list of hit times under the same key, the
newest first, trimmed to the limit, expiring a window after the last hit), so `limits`' own calls
read and clear what it counts (`tests/ratelimit/test_moving_window.py` compares the two).

Measured with `bench/request_costs.py`: the check costs 0.18-0.22 ms of the API's CPU per
request with this script, and cost 0.44-0.57 ms with the library's two.

Under load a worker's requests reach their rate-limit check in waves: those whose bytes came in
the same turn of the event loop. The hits asked in one turn go to Redis together, one script
run each in the order asked, in one pipeline: one round trip for the wave.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

# KEYS[1]: the window's hit times, newest first. ARGV: now (s since the epoch), limit, window (s).
# Returns {1 when the hit was taken else 0, hits in the window after it, the oldest of them}.
_TAKE_AND_COUNT = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local start = now - window
if limit < 1 then  -- as limits refuses a cost above the limit: nothing to take or count
    return {0, 0, ARGV[1]}
end
local taken = 0
local last = redis.call('lindex', KEYS[1], limit - 1)
if not (last and tonumber(last) >= start) then
    redis.call('lpush', KEYS[1], ARGV[1])
    redis.call('ltrim', KEYS[1], 0, limit - 1)
    redis.call('expire', KEYS[1], window)
    taken = 1
end
local low, high, found = 0, limit - 1, -1
while low <= high do
    local mid = math.floor((low + high) / 2)
    local hit = tonumber(redis.call('lindex', KEYS[1], mid))
    if hit and hit >= start then
        found = mid
        low = mid + 1
    else
        high = mid - 1
    end
end
if found < 0 then
    return {taken, 0, ARGV[1]}
end
return {taken, found + 1, redis.call('lindex', KEYS[1], found)}
"""


@dataclass(frozen=True, slots=True)
class WindowCount:
    """One hit's outcome: whether it was taken, how many more the window allows, and in how
    many whole seconds its oldest hit ages out (or the window, when it holds none)."""

    allowed: bool
    remaining: int
    reset_seconds: int


# A hit waiting to be sent: its key, the script's arguments, and where its reply goes.
_Hit = tuple[str, tuple[float, int, int], "asyncio.Future[Any]"]


class RedisMovingWindow:
    """`limits`' moving window on the app's Redis client, hit and counted by one script; the
    hits of one event-loop turn are sent in one pipeline."""

    def __init__(self, redis: Redis, key_prefix: str):
        self._redis = redis
        self._script = redis.register_script(_TAKE_AND_COUNT)
        self._prefix = key_prefix
        self._queued: list[_Hit] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: set[asyncio.Task[None]] = set()  # a reference to each task in flight

    async def hit(self, item: RateLimitItem, *identifiers: str) -> WindowCount:
        """Take one hit of `item` (limit and window) under `identifiers`, as
        `MovingWindowRateLimiter.hit` followed by `get_window_stats` would. Raises redis-py's
        errors (RedisError, OSError) when Redis cannot be reached."""
        key = f"{self._prefix}:{item.key_for(*identifiers)}"
        window = item.get_expiry()
        now = time.time()
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # A server process has one loop; tests may run several. A hit queued on a loop
            # that stopped before sending it would hold up every later one.
            self._loop, self._queued = loop, []
        reply: asyncio.Future[Any] = loop.create_future()
        self._queued.append((key, (now, item.amount, window), reply))
        if len(self._queued) == 1:
            # After the callbacks already due in this turn: the rest of the wave queues first.
            loop.call_soon(self._send_queued)
        taken, count, oldest = await reply
        reset = max(0, math.ceil(float(oldest) + window - now))
        return WindowCount(bool(taken), max(0, item.amount - int(count)), reset)

    def _send_queued(self) -> None:
        batch, self._queued = self._queued, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[_Hit]) -> None:
        try:
            replies = await self._replies(batch)
        except asyncio.CancelledError:
            for *_, reply in batch:
                reply.cancel()
            raise
        except Exception as exc:  # Redis unreachable: every hit of the wave fails alike
            replies = [exc] * len(batch)
        for (*_, reply), answer in zip(batch, replies, strict=True):
            if reply.done():  # its request was cancelled meanwhile
                continue
            if isinstance(answer, Exception):
                reply.set_exception(answer)
            else:
                reply.set_result(answer)

    async def _replies(self, batch: list[_Hit]) -> list[Any]:
        """The script's reply to each hit of `batch`, in order (an exception for a failed one)."""
        if len(batch) == 1:  # the script object loads itself into Redis if it must
            key, args, _ = batch[0]
            return [await self._script(keys=[key], args=list(args))]
        replies = await self._pipelined(batch)
        unknown = [i for i, answer in enumerate(replies) if isinstance(answer, NoScriptError)]
        if unknown:  # Redis restarted or flushed its scripts: load ours, send those again
            await self._redis.script_load(_TAKE_AND_COUNT)
            again = await self._pipelined([batch[i] for i in unknown])
            for i, answer in zip(unknown, again, strict=True):
                replies[i] = answer
        return replies

    async def _pipelined(self, batch: list[_Hit]) -> list[Any]:
        pipe = self._redis.pipeline(transaction=False)
        for key, args, _ in batch:
            pipe.evalsha(self._script.sha, 1, key, *args)
        return list(await pipe.execute(raise_on_error=False))
