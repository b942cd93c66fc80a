"""Behaviour features of one lead or one agent, from its events: pure code, no I/O.

Both the batch and the online path gather a lead's (or agent's) events and call
`behaviour_values`; nothing else computes these numbers, so the two paths cannot disagree.

Definitions (times in hours before `now`; an event's age is now - at, and only events with
0 <= age < horizon are given to this code):
- counts by kind over 24 h, 7 d, 30 d: events with age < window (an event exactly 24 h old is
  not in the last 24 h; one at `now` is);
- counterparts over the same windows: distinct agents (for a lead) or leads (for an agent)
  with an event in the window;
- engagement: sum over events of weight(kind) × 0.5 ** (age / half_life), the exponential decay
  of a quantity with half-life T (N(t) = N0 · 2^(-t/T)); weights and T are settings;
- sessions: runs of events where each follows the one before by less than the session gap
  (a gap of exactly the session gap starts a new session), counted over the horizon;
- recency: hours since the newest event; the horizon in hours when there is none (no event
  seen in the horizon reads as "as old as we look").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from aiqleads.config import FeatureSettings
from aiqleads.models.enums import EventKind

KINDS: tuple[str, ...] = tuple(k.value for k in EventKind)
WINDOWS: tuple[tuple[str, float], ...] = (("24h", 24.0), ("7d", 7 * 24.0), ("30d", 30 * 24.0))
_KIND_INDEX = {kind: k for k, kind in enumerate(KINDS)}


def behaviour_names(counterpart: str) -> tuple[str, ...]:
    """Feature names in value order; `counterpart` names what is counted distinct ("agents"
    for a lead, "leads" for an agent)."""
    counts = tuple(f"{kind}s_{w}" for kind in KINDS for w, _ in WINDOWS)
    others = tuple(f"{counterpart}_{w}" for w, _ in WINDOWS)
    return (*counts, *others, "engagement", "sessions", "recency_hours")


@dataclass(frozen=True, slots=True)
class BehaviourParams:
    """The settings the values depend on, in hours."""

    half_life_hours: float
    session_gap_hours: float
    horizon_hours: float
    weights: dict[str, float]

    @classmethod
    def of(cls, s: FeatureSettings) -> BehaviourParams:
        return cls(
            half_life_hours=s.half_life_hours,
            session_gap_hours=s.session_gap_hours,
            horizon_hours=s.horizon_days * 24.0,
            weights={k: s.weights.of(k) for k in KINDS},
        )


Event = tuple[str, float, int | None]
"""(kind, age in hours, counterpart id: the agent for a lead's event, None for an event no
agent made, the lead for an agent's)."""


def behaviour_values(events: Sequence[Event], p: BehaviourParams) -> list[float]:
    """The values of `behaviour_names` for one entity, from its events (sum order follows
    theirs: give them oldest first, as both paths do, for bit-identical engagement).

    Ages must lie in [0, horizon); an event outside raises ValueError (the caller selected the
    wrong window, and a silently dropped event would be a wrong count). No events: counts,
    engagement and sessions 0, recency the horizon.
    """
    n_w = len(WINDOWS)
    counts = [0.0] * (len(KINDS) * n_w)
    others: list[set[int]] = [set() for _ in WINDOWS]
    engagement = 0.0
    for kind, age, other in events:
        if not 0.0 <= age < p.horizon_hours:
            raise ValueError(f"event age {age} h is outside [0, {p.horizon_hours}) h")
        k = _KIND_INDEX.get(kind)
        if k is None:
            raise ValueError(f"unknown event kind {kind!r}")
        for w, (_, hours) in enumerate(WINDOWS):
            if age < hours:
                counts[k * n_w + w] += 1.0
                if other is not None:
                    others[w].add(other)
        engagement += p.weights.get(kind, 0.0) * 0.5 ** (age / p.half_life_hours)
    ages = sorted(age for _, age, _ in events)
    sessions = 0.0
    if ages:
        sessions = 1.0 + sum(1.0 for a, b in pairwise(ages) if b - a >= p.session_gap_hours)
    recency = ages[0] if ages else p.horizon_hours
    return [*counts, *(float(len(s)) for s in others), engagement, sessions, recency]
