"""A seeded simulator of agent behaviour on the real leads in the database, and the labels the
scoring model learns from.

The marketplace has no sales history yet, so a model trained now would learn nothing. The
simulator writes a plausible history into the event log (through `aiqleads.events.repository`,
like the application does): agents view leads, hold them, buy them, and sometimes return them;
whether a sale sticks depends on the lead's attributes through effects of KNOWN size, so a
model trained on the log can be checked against the truth. It writes events only: no purchase
rows, no status changes, no money. A caller that makes the kept sales real (the demo, through
the cart and checkout) asks for them without their events (`sales_as_events=False`): the real
hold and purchase write their own events, and `Simulation.sales` lists what to buy.

The outcome. Each lead published before the window's last 30 + 7 days gets one decision instant
`t`, uniform over the part of the window where it was published and its 30-day return window
closes before the window ends (so no label is censored). Its log-odds of a **kept sale** (a
purchase at `t` not returned within 30 days) are

| effect                                                | size on the log-odds      |
|-------------------------------------------------------|---------------------------|
| intercept                                             | -1.5                      |
| owner phone on file (`owner_phone`)                   | +1.2                      |
| below its ZIP median asking price (`discount`)        | +4.0 per unit of fraction |
|   (median of the simulated leads of the same kind and |  (+0.4 per 10 % below;    |
|   ZIP, at least 3 priced; 0 above it; capped at 0.5)  |   at most +2.0)           |
| views in the 7 days before `t` (`recent_views`)       | +0.25 per view, capped 6  |

(`EFFECTS` holds this table as data; `Outcome` holds each lead's values and log-odds.) With
probability sigmoid(log-odds) the sale is kept: an agent holds the lead 10 minutes before `t`
and buys it at `t`. Otherwise, with probability `RETURN_SHARE` the lead is bought at `t` and
returned 1 to 25 days later, and else, with probability `HOLD_SHARE`, held at `t` and released
30 minutes later (or nothing happens). So P(label = 1) is exactly sigmoid(log-odds), and
returns and released holds carry no information about the attributes.

Views. Recent views: Poisson with mean `RECENT_VIEWS_MEAN`, each at a uniform instant in the 7
days before `t`; earlier views: Poisson with mean `EARLY_VIEWS_MEAN` in the 23 days before those
(no effect; views before the lead's publication or the window's start are dropped, recent
ones included, so `recent_views` counts the views actually written). Which agent acts is drawn
with weights by tier (enterprise 3, pro 2, basic 1): busier accounts do more.

Browsing to the end (`browse_to_end`, the demo's choice). Decisions stop 30 days before the
window's end, so without more the log is silent in its last 30 days and every count "now" (the
end) is 0. With it, each lead still on the market after its decision (not a kept sale; a
returned one from its return) is viewed a Poisson number of times with mean
`BROWSE_VIEWS_MEAN` per 30 days, at uniform instants from the later of its decision window's end
and its return to the window's end. These views come after every decision, so they change no
outcome and no label.

Determinism: one numpy Generator seeded with `seed`, leads in id order, agents in the order
given: the same leads, agents, window and seed give the same events, byte for byte. Browsing
draws from a second Generator (seeded with `seed` and 1), so turning it on leaves every other
event as it was.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.events import repository as events
from aiqleads.kit.clock import as_utc
from aiqleads.models.enums import EventKind, Tier
from aiqleads.scoring import repository
from aiqleads.scoring.repository import SimLead

RETURN_DAYS = 30  # a sale returned within this many days is not a kept sale
RECENT_DAYS = 7
RECENT_VIEWS_MEAN = 1.5
EARLY_VIEWS_MEAN = 1.0
RETURN_SHARE = 0.25
HOLD_SHARE = 0.3
BROWSE_VIEWS_MEAN = 3.0  # views per 30 days of a lead on the market after its decision
MIN_ZIP_PRICED = 3
DISCOUNT_CAP = 0.5
VIEWS_CAP = 6
TIER_WEIGHT = {Tier.BASIC: 1.0, Tier.PRO: 2.0, Tier.ENTERPRISE: 3.0}


@dataclass(frozen=True, slots=True)
class Effect:
    """One row of the table: the attribute, its unit, its effect on the log-odds per unit."""

    name: str
    unit: str
    log_odds: float


INTERCEPT = -1.5
EFFECTS: tuple[Effect, ...] = (
    Effect("owner_phone", "1 when an owner phone is on file, else 0", 1.2),
    Effect("discount", f"fraction below the ZIP median asking price, 0 to {DISCOUNT_CAP}", 4.0),
    Effect("recent_views", f"views in the {RECENT_DAYS} days before the decision, 0 to 6", 0.25),
)


@dataclass(frozen=True, slots=True)
class SimAgent:
    """An agent account the simulator acts as (it must exist: events reference accounts)."""

    account_id: int
    tier: Tier


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the simulator decided for one lead: the attributes of the table, the log-odds and
    whether the sale was kept (the label the event log will give)."""

    lead_id: int
    decision_at: datetime
    owner_phone: float
    discount: float
    recent_views: float
    log_odds: float
    kept: bool

    def attributes(self) -> dict[str, float]:
        return {
            "owner_phone": self.owner_phone,
            "discount": self.discount,
            "recent_views": self.recent_views,
        }


@dataclass(frozen=True, slots=True)
class Sale:
    """A kept sale: the agent holds the lead 10 minutes before `at` and buys it at `at`."""

    lead_id: int
    account_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Simulation:
    """The events (rows for `events.repository.append`, time order), each lead's outcome and
    the kept sales in time order (their hold and purchase events are among `events` unless the
    plan was made with `sales_as_events=False`)."""

    events: list[dict[str, Any]]
    outcomes: list[Outcome]
    seed: int
    sales: list[Sale]

    def effects(self) -> dict[str, float]:
        """The table as data: {"intercept": -1.5, "owner_phone": 1.2, ...}."""
        return {"intercept": INTERCEPT, **{e.name: e.log_odds for e in EFFECTS}}


def log_odds(owner_phone: float, discount: float, recent_views: float) -> float:
    """The log-odds of a kept sale by the table of the module docstring."""
    values = {"owner_phone": owner_phone, "discount": discount, "recent_views": recent_views}
    return INTERCEPT + sum(e.log_odds * values[e.name] for e in EFFECTS)


def zip_discounts(leads: Sequence[SimLead]) -> dict[int, float]:
    """Each lead's fraction below the median asking price of its kind and ZIP (0 when above it,
    unpriced, or fewer than `MIN_ZIP_PRICED` priced leads share the kind and ZIP), capped."""
    prices: dict[tuple[str, str], list[int]] = defaultdict(list)
    for lead in leads:
        if lead.zip_code and lead.asking_price_cents:
            prices[(lead.kind, lead.zip_code)].append(lead.asking_price_cents)
    out: dict[int, float] = {}
    for lead in leads:
        group = prices.get((lead.kind, lead.zip_code or ""), [])
        if not lead.asking_price_cents or len(group) < MIN_ZIP_PRICED:
            out[lead.id] = 0.0
            continue
        mid = float(median(group))
        out[lead.id] = min(max((mid - lead.asking_price_cents) / mid, 0.0), DISCOUNT_CAP)
    return out


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def plan(
    leads: Sequence[SimLead],
    agents: Sequence[SimAgent],
    *,
    start: datetime,
    end: datetime,
    seed: int,
    backfill: bool = False,
    sales_as_events: bool = True,
    browse_to_end: bool = False,
) -> Simulation:
    """The simulated history of `leads` in [start, end) (see the module docstring); pure: writes
    nothing. With `backfill`, every lead counts as on the market from `start` whatever its
    publication instant (the demo imports its leads now and gives them a past). Without
    `sales_as_events`, the kept sales' hold and purchase events are left out of the events (the
    caller makes them real); the random draws, and so every other event, stay the same. With
    `browse_to_end`, leads on the market after their decision are viewed until `end` (module
    docstring, "Browsing to the end"). Raises ValueError without agents, or for a window shorter
    than 30 + 7 days."""
    if not agents:
        raise ValueError("the simulator needs at least one agent account")
    horizon = timedelta(days=RETURN_DAYS)
    if end - start <= horizon + timedelta(days=RECENT_DAYS):
        raise ValueError(f"the window must be longer than {RETURN_DAYS + RECENT_DAYS} days")
    rng = np.random.default_rng(seed)
    weights = np.array([TIER_WEIGHT[Tier(a.tier)] for a in agents])
    weights = weights / weights.sum()
    discounts = zip_discounts(leads)
    rows: list[dict[str, Any]] = []
    outcomes: list[Outcome] = []
    sales: list[Sale] = []
    data = {"simulated": True, "seed": seed}

    def agent(gen: np.random.Generator = rng) -> int:
        return agents[int(gen.choice(len(agents), p=weights))].account_id

    def add(kind: EventKind, lead_id: int, at: datetime, account_id: int) -> None:
        rows.append(events.event(kind, account_id=account_id, lead_id=lead_id, at=at, data=data))

    last_decision = end - horizon
    # When each lead not sold for good is back on the market after its decision window.
    free_from: dict[int, datetime] = {}
    for lead in sorted(leads, key=lambda x: x.id):
        opens = start if backfill else max(start, as_utc(lead.published_at))
        if opens >= last_decision - timedelta(days=RECENT_DAYS):
            free_from[lead.id] = max(opens, last_decision)
            continue  # published too late for a full decision and return window
        free_from[lead.id] = last_decision
        t = opens + (last_decision - opens) * float(rng.random())
        recent = [
            t - timedelta(days=RECENT_DAYS) * float(rng.random())
            for _ in range(rng.poisson(RECENT_VIEWS_MEAN))
        ]
        early_from = t - timedelta(days=RECENT_DAYS)
        early = [
            early_from - timedelta(days=RETURN_DAYS - RECENT_DAYS) * float(rng.random())
            for _ in range(rng.poisson(EARLY_VIEWS_MEAN))
        ]
        recent = [v for v in recent if v >= opens]
        for at in sorted([*(v for v in early if v >= opens), *recent]):
            add(EventKind.VIEW, lead.id, at, agent())
        phone = 1.0 if lead.has_owner_phone else 0.0
        views = float(min(len(recent), VIEWS_CAP))
        z = log_odds(phone, discounts[lead.id], views)
        kept = float(rng.random()) < _sigmoid(z)
        other = float(rng.random())
        buyer = agent()
        if kept:
            sales.append(Sale(lead.id, buyer, t))
            if sales_as_events:
                add(EventKind.HOLD, lead.id, t - timedelta(minutes=10), buyer)
                add(EventKind.PURCHASE, lead.id, t, buyer)
        elif other < RETURN_SHARE:
            add(EventKind.HOLD, lead.id, t - timedelta(minutes=10), buyer)
            add(EventKind.PURCHASE, lead.id, t, buyer)
            returned = t + timedelta(days=1 + 24 * float(rng.random()))
            add(EventKind.RETURN, lead.id, returned, buyer)
            free_from[lead.id] = max(last_decision, returned)
        elif other < RETURN_SHARE + (1 - RETURN_SHARE) * HOLD_SHARE:
            add(EventKind.HOLD, lead.id, t, buyer)
            add(EventKind.RELEASE, lead.id, t + timedelta(minutes=30), buyer)
        if kept:
            del free_from[lead.id]
        outcomes.append(Outcome(lead.id, t, phone, discounts[lead.id], views, z, kept))
    if browse_to_end:
        browse = np.random.default_rng([seed, 1])
        for lead_id, since in sorted(free_from.items()):
            span = end - since
            mean = BROWSE_VIEWS_MEAN * span / timedelta(days=RETURN_DAYS)
            for _ in range(int(browse.poisson(mean))):
                at = since + span * float(browse.random())
                add(EventKind.VIEW, lead_id, at, agent(browse))
    rows.sort(key=lambda r: (r["at"], r["lead_id"]))
    sales.sort(key=lambda x: (x.at, x.lead_id))
    return Simulation(rows, outcomes, seed, sales)


async def simulate(
    session: AsyncSession,
    agents: Sequence[SimAgent],
    *,
    start: datetime,
    end: datetime,
    seed: int,
    limit: int | None = None,
    backfill: bool = False,
    sales_as_events: bool = True,
    browse_to_end: bool = False,
) -> Simulation:
    """Plan the history of the leads published before `end` (with `backfill`: of every lead; at
    most `limit`, in id order) and append its events to the event log in the caller's
    transaction (without the kept sales' own unless `sales_as_events`; browsing to `end` with
    `browse_to_end`: see `plan`). Returns the
    simulation (its events, each lead's outcome and attributes, the kept sales)."""
    leads = await repository.simulation_leads(
        session, published_before=None if backfill else end, limit=limit
    )
    simulation = plan(
        leads,
        agents,
        start=start,
        end=end,
        seed=seed,
        backfill=backfill,
        sales_as_events=sales_as_events,
        browse_to_end=browse_to_end,
    )
    await events.append(session, simulation.events)
    return simulation


# --- labels ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Labels:
    """lead_ids (n,) int64 ascending and y (n,) int64: 1 for a kept sale. `censored` counts the
    leads left out because their first purchase's return window had not closed by `until`."""

    lead_ids: NDArray[np.int64]
    y: NDArray[np.int64]
    censored: int

    def as_dict(self) -> dict[int, int]:
        return {int(i): int(v) for i, v in zip(self.lead_ids, self.y, strict=True)}


def labels_from_events(
    outcomes: Iterable[tuple[int, str, datetime]],
    population: Iterable[int],
    *,
    since: datetime,
    until: datetime,
    return_days: int = RETURN_DAYS,
) -> Labels:
    """The label of each lead of `population` from its (lead id, kind, at) purchase and return
    events: 1 when its first purchase in [since, until - return_days] has no return event of the
    lead within `return_days` after it (inclusive); 0 when it has one, or no purchase in the
    window; left out (censored) when its first purchase came later than until - return_days,
    its return window still open. Events outside [since, until) are ignored."""
    horizon = timedelta(days=return_days)
    bought: dict[int, datetime] = {}
    returns: dict[int, list[datetime]] = defaultdict(list)
    for lead_id, kind, raw_at in outcomes:
        at = as_utc(raw_at)
        if not since <= at < until:
            continue
        if kind == EventKind.PURCHASE.value and lead_id not in bought:
            bought[lead_id] = at
        elif kind == EventKind.RETURN.value:
            returns[lead_id].append(at)
    ids: list[int] = []
    ys: list[int] = []
    censored = 0
    for lead_id in sorted(set(population)):
        t = bought.get(lead_id)
        if t is None:
            ids.append(lead_id)
            ys.append(0)
            continue
        if t + horizon > until:
            censored += 1
            continue
        returned = any(t <= r <= t + horizon for r in returns[lead_id])
        ids.append(lead_id)
        ys.append(0 if returned else 1)
    return Labels(np.array(ids, dtype=np.int64), np.array(ys, dtype=np.int64), censored)


async def labels(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    lead_ids: Sequence[int] | None = None,
    return_days: int = RETURN_DAYS,
) -> Labels:
    """`sale not returned within 30 days`, from the event log (see `labels_from_events`), for
    `lead_ids`, or for every lead with an event in [since, until)."""
    population = (
        list(lead_ids)
        if lead_ids is not None
        else await events.leads_with_events(session, since=since, until=until)
    )
    found = await events.outcomes(session, since=since, until=until)
    return labels_from_events(found, population, since=since, until=until, return_days=return_days)


def outcomes_by_lead(simulation: Simulation) -> Mapping[int, Outcome]:
    return {o.lead_id: o for o in simulation.outcomes}
