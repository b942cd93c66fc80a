"""Exponential backoff with jitter, for task retries and webhook redeliveries."""

from __future__ import annotations

import random


def backoff_seconds(
    attempt: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after the `attempt`-th failure (1 for the first).

    "Equal jitter" (M. Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015):
    with d = min(cap, base · 2^(attempt − 1)), wait d/2 plus a random part of up to d/2. The
    waits still grow (each at least the previous one's most) while retries of many failures at
    once spread out. Raises ValueError for an attempt below 1 or a non-positive base.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if base <= 0 or cap <= 0:
        raise ValueError("base and cap must be positive")
    # 2**64 is already beyond any cap; bounding the exponent keeps the float finite.
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 64))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
