"""Outcomes joined to exposures: which views, holds, purchases and returns an exposure led to.

An exposure is a list of leads served to an agent under a variant at `served_at`. A view
("click"), hold or purchase counts as an outcome of the agent's latest exposure that served
that lead at or before the event, when the event falls within `window` of that exposure
(served_at <= at < served_at + window): last touch, so one event counts once, however many
lists showed the lead. A return counts when it follows a purchase counted so (returns come
days after the purchase, bounded by the return window, so they are not held to `window`).
Only the exposed agent's own events on the leads it was served count.

Pure: rows in, counts out. The unit of analysis is the agent, because the agent is the unit
of assignment: one agent's lists are not independent trials.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

CLICK, HOLD, PURCHASE, RETURN = "click", "hold", "purchase", "return"
# The outcomes tested for a lift, in funnel order, and the event kinds they come from.
METRICS = (CLICK, HOLD, PURCHASE)
EVENT_KINDS = {"view": CLICK, "hold": HOLD, "purchase": PURCHASE, "return": RETURN}


@dataclass(frozen=True, slots=True)
class Exposure:
    agent_id: int
    variant: str
    lead_ids: Sequence[int]
    served_at: datetime
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """An event-log row: `kind` is the log's (view, hold, purchase, return; others ignored)."""

    agent_id: int
    lead_id: int
    kind: str
    at: datetime


@dataclass
class VariantOutcomes:
    """One variant's exposures and what they led to.

    `agents`: agents exposed; `exposures`: lists served; `leads_served`: leads in them;
    `latencies_ms`: each recorded serving latency; `lists_of` / `lists_with_of[m]` the same
    counts per agent. Per metric (click, hold, purchase):
    `converted[m]` the agents with at least one, `exposures_with[m]` the exposures with at
    least one, `events[m]` how many events. `purchases` and `returned`: the (agent, lead)
    purchases counted, and those of them returned since.
    """

    agents: set[int] = field(default_factory=set)
    exposures: int = 0
    leads_served: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    converted: dict[str, set[int]] = field(default_factory=lambda: {m: set() for m in METRICS})
    exposures_with: dict[str, set[int]] = field(default_factory=lambda: {m: set() for m in METRICS})
    events: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))
    purchases: set[tuple[int, int]] = field(default_factory=set)
    returned: set[tuple[int, int]] = field(default_factory=set)
    # Per agent: lists served, and per metric lists with at least one (the per-list rates'
    # units for the delta method).
    lists_of: Counter[int] = field(default_factory=Counter)
    lists_with_of: dict[str, Counter[int]] = field(
        default_factory=lambda: {m: Counter() for m in METRICS}
    )


def join(
    exposures: Sequence[Exposure],
    events: Iterable[Event],
    *,
    window: timedelta,
    variants: Sequence[str],
) -> dict[str, VariantOutcomes]:
    """Per variant (every name of `variants`, in order, even unexposed ones), its outcomes as
    the module docstring defines them. Exposures of a variant not in `variants` raise
    ValueError (the experiment's variants never change once it runs)."""
    found = {name: VariantOutcomes() for name in variants}
    # (agent, lead) -> the times it was served, ascending, and the exposures' indexes.
    served: dict[tuple[int, int], tuple[list[datetime], list[int]]] = defaultdict(lambda: ([], []))
    order = sorted(range(len(exposures)), key=lambda i: exposures[i].served_at)
    for i in order:
        e = exposures[i]
        if e.variant not in found:
            raise ValueError(f"exposure of unknown variant {e.variant!r}")
        out = found[e.variant]
        out.agents.add(e.agent_id)
        out.exposures += 1
        out.lists_of[e.agent_id] += 1
        out.leads_served += len(e.lead_ids)
        if e.latency_ms is not None:
            out.latencies_ms.append(e.latency_ms)
        for lead_id in dict.fromkeys(e.lead_ids):
            times, indexes = served[(e.agent_id, lead_id)]
            times.append(e.served_at)
            indexes.append(i)
    returns: list[Event] = []
    for ev in sorted(events, key=lambda ev: ev.at):
        metric = EVENT_KINDS.get(ev.kind)
        if metric is None:
            continue
        if metric == RETURN:
            returns.append(ev)
            continue
        times, indexes = served.get((ev.agent_id, ev.lead_id), ([], []))
        k = bisect.bisect_right(times, ev.at) - 1
        if k < 0 or ev.at >= times[k] + window:
            continue
        exposure = exposures[indexes[k]]
        out = found[exposure.variant]
        out.converted[metric].add(ev.agent_id)
        if indexes[k] not in out.exposures_with[metric]:
            out.exposures_with[metric].add(indexes[k])
            out.lists_with_of[metric][ev.agent_id] += 1
        out.events[metric] += 1
        if metric == PURCHASE:
            out.purchases.add((ev.agent_id, ev.lead_id))
    for ev in returns:
        for out in found.values():
            if (ev.agent_id, ev.lead_id) in out.purchases:
                out.returned.add((ev.agent_id, ev.lead_id))
    return found
