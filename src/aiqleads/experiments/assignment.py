"""Which variant an agent gets: a documented hash of the experiment's salt and the agent's id.

    bucket(salt, agent_id) = int(SHA-256(f"{salt}:{agent_id}" as UTF-8)[0:8], big-endian) / 2**64

is a number in [0, 1), uniform to 2**-64, and the same in every process, on every machine and
after every restart (unlike Python's `hash()`, which is salted per process). The variants, in
their stored order, take consecutive slices of [0, 1), each as wide as its weight's share of
the weights' sum; an agent gets the variant whose slice holds its bucket. So an agent keeps its
variant for the whole experiment, a new salt reshuffles everyone independently of any other
experiment, and the variants and salt never change once an experiment has started.
(GrowthBook's SDK hashes with 32-bit FNV-1a to 1/10,000; SHA-256 is as portable, from the
standard library, and leaves no coarse grid.)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_SCALE = float(2**64)


@dataclass(frozen=True, slots=True)
class Variant:
    """A variant: its name, its weight (> 0; shares are weight / sum of weights) and what the
    surface should do for it (`config`, e.g. `{"recommender": "lambdarank-20261130T1200"}`, a
    registered recommender version)."""

    name: str
    weight: float
    config: Mapping[str, Any] = field(default_factory=dict)


def bucket(salt: str, unit: int | str) -> float:
    """The unit's (an agent id's) place in [0, 1) under `salt` (the module's formula)."""
    digest = hashlib.sha256(f"{salt}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def shares(variants: Sequence[Variant]) -> list[float]:
    """Each variant's expected share of the traffic (weights over their sum, summing to 1).
    Raises ValueError when there is no variant or a weight is not a positive finite number."""
    if not variants:
        raise ValueError("an experiment needs at least one variant")
    for v in variants:
        if not (math.isfinite(v.weight) and v.weight > 0):
            raise ValueError(f"variant {v.name!r}: weight must be a positive number")
    total = math.fsum(v.weight for v in variants)
    return [v.weight / total for v in variants]


def choose(variants: Sequence[Variant], u: float) -> Variant:
    """The variant whose slice of [0, 1) holds `u` (see the module docstring)."""
    edge = 0.0
    for variant, share in zip(variants, shares(variants), strict=True):
        edge += share
        if u < edge:
            return variant
    return variants[-1]  # u within rounding of 1.0


def assign(salt: str, variants: Sequence[Variant], unit: int | str) -> Variant:
    """The variant of `unit` (an agent id) in an experiment salted `salt`."""
    return choose(variants, bucket(salt, unit))
