"""A seeded simulator of agents with hidden true preferences, acting on the real leads in the
database: the behaviour history a recommender is trained and evaluated on.

The marketplace has no behaviour history yet, and an offline evaluation on a made-up history
proves something only if the truth behind it is known. So each simulated agent gets a HIDDEN
true preference, and acts on leads by a documented utility of it; what it TYPES into its
preferences (`PUT /api/v1/me/preferences`) is a partial, noisy copy. A recommender that learns
from behaviour can then beat one that reads only the stated preference, and both can be
checked against the truth.

Agents see leads as every agent does before buying: by their preview (DESIGN.md section 2).
Every effect below is computed from the preview cell's centre, the ZIP, kind, bedrooms, asking
price and score bucket, never from the exact point, so the history carries nothing a
recommender could not lawfully use.

**Hidden preference** (one per agent, `HiddenPreference`), drawn around an *anchor*: a lead
drawn uniformly from the priced inventory (any lead when none is priced).

| facet        | draw                                                                         |
|--------------|------------------------------------------------------------------------------|
| home area    | the anchor's cell centre, radius uniform in [1.5, 6] km                      |
| price range  | c·(1 − w) to c·(1 + w), c = anchor's asking price × lognormal(0, 0.1),       |
|              | w uniform in [0.2, 0.4]                                                      |
| kinds        | the anchor's kind; with probability 0.25 also another kind of the inventory  |
| bedrooms     | the anchor's ± 1 (when known); no preference with probability 0.3            |
| activity     | sessions a day: 0.5 basic, 0.8 pro, 1.2 enterprise, × lognormal(0, 0.3)      |

**Stated preference** (`SimPreferenceAgent.stated`, the keys of `STATED_KEYS`, None when not
stated): a territory (probability 0.6: ZIPs, those of the leads in the hidden area, each kept
with probability 0.7, the anchor's always; else a radius: the centre moved by N(0, 500 m) per
axis and the radius × uniform [0.7, 1.3], rounded to 500 m); a price range with probability 0.8
(each bound × uniform [0.85, 1.15], rounded to $10,000, or $100 for rents); the kinds with
probability 0.7; the least bedrooms with probability 0.5.

**Utility** of lead l for an agent (`utility`; `EFFECTS` holds the table as data):

| effect                                                  | size                           |
|---------------------------------------------------------|--------------------------------|
| distance beyond the home area's radius                  | −1.0 per km, at most −6        |
| asking price within the price range                     | +1.0                           |
| asking price outside it                                 | −4.0 per unit of ln(price/the  |
|                                                         | nearer bound), at most −6      |
| kind among the agent's kinds                            | +1.5, else −1.5                |
| bedrooms within the range (known, with a preference)    | +0.5, else −0.5 (unknown: 0)   |
| score bucket (the same for every agent: lead quality)   | A +0.6, B +0.3, C or none 0    |

(no asking price: the price terms are 0). **Behaviour.** Days run from `now − days` to `now`;
each day each agent starts Poisson(activity) sessions at uniform instants of the day's first
22 hours (so a session's events, within its first hour, come before `now`), handled in time
order. A session is shown `SHOWN` leads on the market: 12 drawn from those passing the agent's
stated filters (its search; all leads when nothing passes), 6 from the ZIPs around its hidden
home (its map; centres within radius + 2 km) and 2 from the whole inventory (discovery). Each
shown lead, at one-minute steps: viewed with probability σ(U − 2.5); a viewed lead held with
σ(U − 4) two minutes later; a held lead bought with σ(U − 1.5) ten minutes after the hold, else
released after 30 minutes; a bought lead returned with σ(−U − 1.5) one to six days later (when
that is before `now`). A bought lead leaves the market for everyone (a lead is sold once). So a
lead matching every facet (U = 3.6 with an A bucket) is viewed 3 times in 4, held 2 times in
5 after a view and bought 9 times in 10 after a hold; one of the wrong kind and outside the
price range (U below −3) is viewed less than once in 200.

Only events are written (through `aiqleads.events.repository`, with `data = {"simulated":
true, "seed": seed, "simulator": "preferences"}`); no purchase rows, holds or status changes,
as `scoring.simulator`. The agents' accounts are made (or reused, by e-mail
`sim-pref-<seed>-<i>@example.com`) with a password hash nobody can sign in with.
Determinism: one numpy Generator seeded with `seed`, leads in id order, agents in account
order: the same leads, seed, days and `now` give the same agents and events, byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth import repository as accounts
from aiqleads.events import repository as events
from aiqleads.kit.clock import as_utc
from aiqleads.kit.distance import EARTH_RADIUS_M
from aiqleads.leads.status import ON_MARKET
from aiqleads.leads.visibility import status_in
from aiqleads.models import Account, Lead
from aiqleads.models.enums import EventKind, LeadKind, Role, Tier

SHOWN_SEARCH, SHOWN_MAP, SHOWN_DISCOVERY = 12, 6, 2
SHOWN = SHOWN_SEARCH + SHOWN_MAP + SHOWN_DISCOVERY
MAP_MARGIN_M = 2_000.0
TIERS = (Tier.BASIC, Tier.BASIC, Tier.PRO, Tier.PRO, Tier.ENTERPRISE)
ACTIVITY = {Tier.BASIC: 0.5, Tier.PRO: 0.8, Tier.ENTERPRISE: 1.2}
BUCKET_QUALITY = {"A": 1.0, "B": 0.5, "C": 0.0}
# An unusable password hash: argon2 refuses it, so nobody can sign in as a simulated agent.
NO_PASSWORD = "!simulated-agent"  # noqa: S105 (not a password: a hash argon2 rejects)
STATED_KEYS = (
    "zip_codes",
    "latitude",
    "longitude",
    "radius_m",
    "price_min_cents",
    "price_max_cents",
    "kinds",
    "bedrooms_min",
)


@dataclass(frozen=True, slots=True)
class Effect:
    """One row of the utility table: the attribute, its unit, its effect on the utility."""

    name: str
    unit: str
    size: float


EFFECTS: tuple[Effect, ...] = (
    Effect("beyond_area", "km beyond the home area's radius, at most 6", -1.0),
    Effect("price_inside", "1 when the asking price is within the range", 1.0),
    Effect("price_outside", "|ln(price / nearer bound)| outside the range, at most 1.5", -4.0),
    Effect("kind", "+1 when the kind is among the agent's, else -1", 1.5),
    Effect("bedrooms", "+1 within the range, -1 outside, 0 unknown or no preference", 0.5),
    Effect("quality", "score bucket: A 1, B 0.5, C or none 0", 0.6),
)
_SIZE = {e.name: e.size for e in EFFECTS}
CAP = 6.0
VIEW_SHIFT, HOLD_SHIFT, BUY_SHIFT, RETURN_SHIFT = -2.5, -4.0, -1.5, -1.5


@dataclass(frozen=True, slots=True)
class SimLead:
    """A lead as an agent sees it before buying: its preview."""

    id: int
    kind: str
    zip_code: str | None
    asking_price_cents: int | None
    bedrooms: int | None
    latitude: float  # the preview cell's centre
    longitude: float
    score_bucket: str | None


@dataclass(frozen=True, slots=True)
class HiddenPreference:
    """An agent's true taste (see the module docstring): home area as a centre and radius in
    metres, price range in cents, kinds, bedrooms range (None: no preference), sessions a day."""

    latitude: float
    longitude: float
    radius_m: float
    price_min_cents: int | None  # None: the anchor had no asking price
    price_max_cents: int | None
    kinds: tuple[str, ...]
    bedrooms_min: int | None
    bedrooms_max: int | None
    activity: float

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kinds"] = list(self.kinds)
        return out


@dataclass(frozen=True, slots=True)
class SimPreferenceAgent:
    """A simulated agent: its account, what it states (`STATED_KEYS`) and its hidden truth
    (`HiddenPreference.as_dict`)."""

    account_id: int
    stated: dict[str, Any]
    hidden: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AgentSimulation:
    """The agents made and the number of events written."""

    agents: list[SimPreferenceAgent]
    events: int


@dataclass(frozen=True, slots=True)
class Exposures:
    """Every lead shown to an agent (m of them): `account_id` (m,), `lead_id` (m,), `features`
    (m, len(EFFECTS)) in the units of `EFFECTS` (utility = features @ sizes) and `viewed` (m,)
    bool. What the event log cannot tell (what was shown and not opened), kept for checking
    that the behaviour follows the table."""

    account_id: NDArray[np.int64]
    lead_id: NDArray[np.int64]
    features: NDArray[np.float64]
    viewed: NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Plan:
    """What `plan` decided: each agent's hidden and stated preference, the event rows (for
    `events.repository.append`, in time order), and the exposures when asked for."""

    hidden: list[HiddenPreference]
    stated: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    exposures: Exposures | None = None


class _Inventory:
    """The leads as arrays (id order), grouped by ZIP so that a circle's leads are found by
    looking only in the ZIPs that can reach it."""

    def __init__(self, leads: Sequence[SimLead]) -> None:
        self.leads = sorted(leads, key=lambda x: x.id)
        self.ids = np.array([x.id for x in self.leads], dtype=np.int64)
        self.lat = np.array([x.latitude for x in self.leads], dtype=np.float64)
        self.lon = np.array([x.longitude for x in self.leads], dtype=np.float64)
        # 0 stands for no asking price.
        self.price = np.array([x.asking_price_cents or 0 for x in self.leads], dtype=np.float64)
        self.kind = np.array([x.kind for x in self.leads], dtype=object)
        self.bedrooms = np.array(
            [-1 if x.bedrooms is None else x.bedrooms for x in self.leads], dtype=np.int64
        )
        self.quality = np.array([BUCKET_QUALITY.get(x.score_bucket or "", 0.0) for x in self.leads])
        self.zip_code = [x.zip_code for x in self.leads]
        groups: dict[str, list[int]] = {}
        for i, z in enumerate(self.zip_code):
            groups.setdefault(z or "", []).append(i)
        self.zip_members = [np.array(groups[z], dtype=np.int64) for z in sorted(groups)]
        self.zip_lat = np.array([self.lat[m].mean() for m in self.zip_members])
        self.zip_lon = np.array([self.lon[m].mean() for m in self.zip_members])
        self.zip_spread = np.array(
            [
                float(distance_m(float(a), float(b), self.lat[m], self.lon[m]).max())
                for a, b, m in zip(self.zip_lat, self.zip_lon, self.zip_members, strict=True)
            ]
        )
        self.by_zip = dict(zip(sorted(groups), self.zip_members, strict=True))
        self.zip_names = sorted(groups)
        self.zip_index = np.empty(len(self.leads), dtype=np.int64)
        for code, members in enumerate(self.zip_members):
            self.zip_index[members] = code
        self.kinds = sorted(set(self.kind.tolist()))
        self.priced = np.flatnonzero(self.price > 0)
        self.everything = np.arange(len(self.leads), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.leads)

    def reaching(self, lat: float, lon: float, radius_m: float) -> list[NDArray[np.int64]]:
        """The ZIP groups that may hold a lead within `radius_m` of the point."""
        reach = distance_m(lat, lon, self.zip_lat, self.zip_lon) <= radius_m + self.zip_spread
        return [m for m, ok in zip(self.zip_members, reach.tolist(), strict=True) if ok]

    def near(self, lat: float, lon: float, radius_m: float) -> NDArray[np.int64]:
        """Positions (ascending) of the leads whose cell centre is within `radius_m` of the
        point."""
        members = self.reaching(lat, lon, radius_m)
        if not members:
            return np.empty(0, dtype=np.int64)
        idx = np.concatenate(members)
        return np.sort(idx[distance_m(lat, lon, self.lat[idx], self.lon[idx]) <= radius_m])


Test = Callable[[NDArray[np.int64]], NDArray[np.bool_]]


class _Pool:
    """Leads a session may be shown from: a union of ZIP groups (the inventory's own arrays,
    not copied, so memory does not grow with agents × territory) and a test the drawn leads
    must pass. Drawn by rejection: uniform over the groups, kept when the test passes."""

    def __init__(self, groups: list[NDArray[np.int64]], test: Test | None) -> None:
        self.groups = [g for g in groups if g.size]
        sizes = np.array([g.size for g in self.groups], dtype=np.int64)
        self.ends = np.cumsum(sizes)
        self.starts = self.ends - sizes
        self.total = int(self.ends[-1]) if self.groups else 0
        self.test = test

    def passing(self) -> int:
        """How many of the pool's leads pass its test."""
        if not self.total:
            return 0
        if self.test is None:
            return self.total
        return int(sum(int(self.test(g).sum()) for g in self.groups))

    def draw(self, rng: np.random.Generator, n: int) -> list[int]:
        """Up to `n` draws (with repeats) of positions that pass the test, from at most 4 n
        candidates."""
        if not self.total:
            return []
        picks = rng.integers(self.total, size=4 * n)
        if len(self.groups) == 1:
            positions = self.groups[0][picks]
        else:
            group = np.searchsorted(self.ends, picks, side="right")
            offset = picks - self.starts[group]
            positions = np.empty(picks.size, dtype=np.int64)
            for g in np.unique(group).tolist():
                here = group == g
                positions[here] = self.groups[g][offset[here]]
        if self.test is not None:
            positions = positions[self.test(positions)]
        drawn: list[int] = positions.tolist()
        return drawn


def distance_m(
    lat: float, lon: float, lats: NDArray[np.float64], lons: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Great-circle distances in metres from one point to many (haversine, mean Earth radius),
    degrees in."""
    p1, p2 = math.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons - lon)
    h = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return cast(NDArray[np.float64], 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1))))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _features(
    pref: HiddenPreference, inv: _Inventory, idx: NDArray[np.int64]
) -> NDArray[np.float64]:
    """(n, len(EFFECTS)): each lead's value of each effect's unit, in `EFFECTS` order, so the
    utility is this matrix times the effect sizes."""
    out = np.zeros((idx.size, len(EFFECTS)))
    beyond = distance_m(pref.latitude, pref.longitude, inv.lat[idx], inv.lon[idx]) - pref.radius_m
    out[:, 0] = np.minimum(np.maximum(beyond, 0.0) / 1000.0, CAP / abs(_SIZE["beyond_area"]))
    if pref.price_min_cents is not None and pref.price_max_cents is not None:
        price = inv.price[idx]
        priced = price > 0
        safe = np.where(priced, price, 1.0)
        inside = priced & (safe >= pref.price_min_cents) & (safe <= pref.price_max_cents)
        gap = np.maximum(np.log(pref.price_min_cents / safe), np.log(safe / pref.price_max_cents))
        out[:, 1] = inside
        out[:, 2] = np.where(
            priced & ~inside, np.minimum(gap, CAP / abs(_SIZE["price_outside"])), 0.0
        )
    out[:, 3] = np.where(np.isin(inv.kind[idx], list(pref.kinds)), 1.0, -1.0)
    if pref.bedrooms_min is not None and pref.bedrooms_max is not None:
        beds = inv.bedrooms[idx]
        within = (beds >= pref.bedrooms_min) & (beds <= pref.bedrooms_max)
        out[:, 4] = np.where(beds < 0, 0.0, np.where(within, 1.0, -1.0))
    out[:, 5] = inv.quality[idx]
    return out


_SIZES = np.array([e.size for e in EFFECTS])


def _utility(
    pref: HiddenPreference, inv: _Inventory, idx: NDArray[np.int64]
) -> NDArray[np.float64]:
    """The utility table of the module docstring for the leads at positions `idx`."""
    return cast(NDArray[np.float64], _features(pref, inv, idx) @ _SIZES)


def utility(pref: HiddenPreference, leads: Sequence[SimLead]) -> NDArray[np.float64]:
    """The true utility (the table of the module docstring) of each of `leads` (n,) for an
    agent with hidden preference `pref`, in the order given: the oracle a recommender's
    ranking can be compared with."""
    if not leads:
        return np.empty(0)
    inv = _Inventory(leads)
    order = np.argsort(np.argsort([x.id for x in leads], kind="stable"), kind="stable")
    return _utility(pref, inv, np.arange(len(inv), dtype=np.int64))[order]


def _draw_hidden(
    rng: np.random.Generator, inv: _Inventory, tier: Tier
) -> tuple[HiddenPreference, int]:
    pool = inv.priced if inv.priced.size else inv.everything
    anchor = int(pool[rng.integers(pool.size)])
    radius = float(rng.uniform(1_500.0, 6_000.0))
    centre = inv.price[anchor] * float(rng.lognormal(0.0, 0.1))
    width = float(rng.uniform(0.2, 0.4))
    kinds = [str(inv.kind[anchor])]
    others = [k for k in inv.kinds if k != kinds[0]]
    extra, pick = float(rng.random()), int(rng.integers(max(len(others), 1)))
    if others and extra < 0.25:
        kinds.append(others[pick])
    beds = int(inv.bedrooms[anchor])
    no_beds = float(rng.random()) < 0.3
    activity = ACTIVITY[tier] * float(rng.lognormal(0.0, 0.3))
    priced_anchor = inv.price[anchor] > 0
    return (
        HiddenPreference(
            latitude=float(inv.lat[anchor]),
            longitude=float(inv.lon[anchor]),
            radius_m=round(radius, 1),
            price_min_cents=round(centre * (1 - width)) if priced_anchor else None,
            price_max_cents=round(centre * (1 + width)) if priced_anchor else None,
            kinds=tuple(sorted(kinds)),
            bedrooms_min=None if beds < 0 or no_beds else max(beds - 1, 0),
            bedrooms_max=None if beds < 0 or no_beds else beds + 1,
            activity=round(activity, 4),
        ),
        anchor,
    )


_M_PER_DEG = math.pi * EARTH_RADIUS_M / 180


def _draw_stated(
    rng: np.random.Generator, inv: _Inventory, pref: HiddenPreference, anchor: int
) -> dict[str, Any]:
    stated: dict[str, Any] = dict.fromkeys(STATED_KEYS)
    by_zip = float(rng.random()) < 0.6
    home = inv.near(pref.latitude, pref.longitude, pref.radius_m)
    zips = [inv.zip_names[c] for c in np.unique(inv.zip_index[home]).tolist()]
    zips = [z for z in zips if z]  # "" groups the leads without a ZIP
    keep = rng.random(len(zips)) < 0.7
    anchor_zip = inv.zip_code[anchor]
    typed = [z for z, k in zip(zips, keep.tolist(), strict=True) if k or z == anchor_zip]
    dy, dx = rng.normal(0.0, 500.0, size=2)
    stretch = float(rng.uniform(0.7, 1.3))
    if by_zip and typed:
        stated["zip_codes"] = typed
    else:
        lat = pref.latitude + float(dy) / _M_PER_DEG
        lon = pref.longitude + float(dx) / (_M_PER_DEG * math.cos(math.radians(pref.latitude)))
        stated["latitude"], stated["longitude"] = round(lat, 5), round(lon, 5)
        stated["radius_m"] = max(500, round(pref.radius_m * stretch / 500.0) * 500)
    says_price, low, high = float(rng.random()) < 0.8, *rng.uniform(0.85, 1.15, size=2)
    if says_price and pref.price_min_cents is not None and pref.price_max_cents is not None:
        # Agents type round figures: $10,000 steps for sales, $100 for monthly rents.
        step = 10_000 if str(inv.kind[anchor]) == LeadKind.FOR_RENT.value else 1_000_000
        lo = math.floor(pref.price_min_cents * float(low) / step) * step
        hi = math.ceil(pref.price_max_cents * float(high) / step) * step
        stated["price_min_cents"], stated["price_max_cents"] = lo, max(hi, lo + step)
    if float(rng.random()) < 0.7:
        stated["kinds"] = list(pref.kinds)
    if float(rng.random()) < 0.5 and pref.bedrooms_min is not None:
        stated["bedrooms_min"] = pref.bedrooms_min
    return stated


def _search_pool(stated: dict[str, Any], inv: _Inventory) -> _Pool:
    """The leads that pass the stated filters (the agent's search): the territory, then price,
    kinds and bedrooms where stated; the territory alone when none pass them all, every lead
    when nothing is in the territory."""
    territory: Test | None = None
    if stated["zip_codes"]:
        groups = [inv.by_zip[z] for z in stated["zip_codes"] if z in inv.by_zip]
    elif stated["radius_m"]:
        lat, lon, radius = stated["latitude"], stated["longitude"], float(stated["radius_m"])
        groups = inv.reaching(lat, lon, radius)

        def territory(idx: NDArray[np.int64]) -> NDArray[np.bool_]:
            return distance_m(lat, lon, inv.lat[idx], inv.lon[idx]) <= radius
    else:
        groups = [inv.everything]
    area = _Pool(groups, territory)
    if area.passing() == 0:
        return _Pool([inv.everything], None)
    low, high = stated["price_min_cents"], stated["price_max_cents"]
    kinds, beds = stated["kinds"], stated["bedrooms_min"]

    def filters(idx: NDArray[np.int64]) -> NDArray[np.bool_]:
        keep = np.ones(idx.size, dtype=bool) if territory is None else territory(idx)
        if low is not None:
            keep &= (inv.price[idx] >= low) & (inv.price[idx] <= high)
        if kinds:
            keep &= np.isin(inv.kind[idx], kinds)
        if beds is not None:
            keep &= inv.bedrooms[idx] >= beds
        return keep

    search = _Pool(groups, filters)
    return search if search.passing() else area


def _map_pool(pref: HiddenPreference, inv: _Inventory) -> _Pool:
    """The leads around the agent's hidden home (its map): within the radius plus a margin."""
    lat, lon, reach = pref.latitude, pref.longitude, pref.radius_m + MAP_MARGIN_M

    def around(idx: NDArray[np.int64]) -> NDArray[np.bool_]:
        return distance_m(lat, lon, inv.lat[idx], inv.lon[idx]) <= reach

    return _Pool(inv.reaching(lat, lon, reach), around)


def _show(
    rng: np.random.Generator, pools: Sequence[tuple[_Pool, int]], gone: NDArray[np.bool_]
) -> list[int]:
    """The leads one session is shown: from each pool its number of leads still on the
    market, no lead twice."""
    shown: list[int] = []
    for pool, n in pools:
        taken = 0
        for pos in pool.draw(rng, n):
            if taken == n:
                break
            if not gone[pos] and pos not in shown:
                shown.append(pos)
                taken += 1
    return shown


# A session's events come within its first hour; sessions start in the day's first 22 hours,
# so every event of the window falls before `now`.
SESSION_START_S = 22 * 3600


def plan(
    leads: Sequence[SimLead],
    agents: Sequence[tuple[int, Tier]],
    *,
    days: int,
    seed: int,
    now: datetime,
    record_exposures: bool = False,
) -> Plan:
    """The agents' preferences and their `days` of behaviour before `now` on `leads` (see the
    module docstring), for the (account id, tier) `agents` in the order given; pure: writes
    nothing. With `record_exposures`, also every lead shown (memory grows with them). ValueError
    without leads or agents, or for `days` < 1."""
    if not leads:
        raise ValueError("no leads on the market to simulate agents on")
    if not agents:
        raise ValueError("the simulator needs at least one agent")
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    now = as_utc(now)
    rng = np.random.default_rng(seed)
    inv = _Inventory(leads)
    hidden: list[HiddenPreference] = []
    stated: list[dict[str, Any]] = []
    for _, tier in agents:
        pref, anchor = _draw_hidden(rng, inv, Tier(tier))
        hidden.append(pref)
        stated.append(_draw_stated(rng, inv, pref, anchor))
    searches = [_search_pool(s, inv) for s in stated]
    maps = [_map_pool(h, inv) for h in hidden]
    discovery = _Pool([inv.everything], None)
    gone = np.zeros(len(inv), dtype=bool)
    data = {"simulated": True, "seed": seed, "simulator": "preferences"}
    rows: list[dict[str, Any]] = []
    seen_by: list[int] = []
    seen_lead: list[int] = []
    seen_features: list[NDArray[np.float64]] = []
    seen_viewed: list[bool] = []

    def add(kind: EventKind, pos: int, at: datetime, agent: int) -> None:
        lead_id = int(inv.ids[pos])
        rows.append(
            events.event(kind, account_id=agents[agent][0], lead_id=lead_id, at=at, data=data)
        )

    first_day = now - timedelta(days=days)
    for day in range(days):
        day_start = first_day + timedelta(days=day)
        sessions = [
            (float(rng.random()) * SESSION_START_S, a)
            for a, pref in enumerate(hidden)
            for _ in range(int(rng.poisson(pref.activity)))
        ]
        for offset, a in sorted(sessions):
            start = day_start + timedelta(seconds=offset)
            pools = (
                (searches[a], SHOWN_SEARCH),
                (maps[a], SHOWN_MAP),
                (discovery, SHOWN_DISCOVERY),
            )
            shown = _show(rng, pools, gone)
            if not shown:
                continue
            features = _features(hidden[a], inv, np.array(shown, dtype=np.int64))
            values = (features @ _SIZES).tolist()
            draws = rng.random((len(shown), 5)).tolist()
            if record_exposures:
                seen_by.extend([agents[a][0]] * len(shown))
                seen_lead.extend(inv.ids[shown].tolist())
                seen_features.append(features)
                seen_viewed.extend(
                    not gone[p] and d[0] < _sigmoid(u + VIEW_SHIFT)
                    for p, u, d in zip(shown, values, draws, strict=True)
                )
            for j, (pos, u) in enumerate(zip(shown, values, strict=True)):
                at = start + timedelta(minutes=j)
                view, hold, buy, ret, delay = draws[j]
                if gone[pos] or view >= _sigmoid(u + VIEW_SHIFT):
                    continue
                add(EventKind.VIEW, pos, at, a)
                if hold >= _sigmoid(u + HOLD_SHIFT):
                    continue
                add(EventKind.HOLD, pos, at + timedelta(minutes=2), a)
                if buy >= _sigmoid(u + BUY_SHIFT):
                    add(EventKind.RELEASE, pos, at + timedelta(minutes=32), a)
                    continue
                bought = at + timedelta(minutes=12)
                add(EventKind.PURCHASE, pos, bought, a)
                gone[pos] = True
                returned = bought + timedelta(days=1 + 5 * delay)
                if ret < _sigmoid(-u + RETURN_SHIFT) and returned < now:
                    add(EventKind.RETURN, pos, returned, a)
    rows.sort(key=lambda r: (r["at"], r["account_id"], r["lead_id"]))
    exposures = None
    if record_exposures:
        exposures = Exposures(
            np.array(seen_by, dtype=np.int64),
            np.array(seen_lead, dtype=np.int64),
            np.concatenate(seen_features) if seen_features else np.zeros((0, len(EFFECTS))),
            np.array(seen_viewed, dtype=bool),
        )
    return Plan(hidden, stated, rows, exposures)


# --- the database side ---------------------------------------------------------------------

_leads = cast(Table, Lead.__table__)


async def _market_leads(session: AsyncSession, now: datetime) -> list[SimLead]:
    """The previews of the leads on the market (available or held) published by `now`, with a
    preview cell, in id order."""
    t = _leads
    rows = await session.execute(
        select(
            t.c.id,
            t.c.kind,
            t.c.zip_code,
            t.c.asking_price_cents,
            t.c.bedrooms,
            t.c.preview_latitude,
            t.c.preview_longitude,
            t.c.score_bucket,
        )
        .where(
            status_in(t, ON_MARKET, now),
            t.c.published_at <= now,
            t.c.preview_latitude.is_not(None),
            t.c.preview_longitude.is_not(None),
        )
        .order_by(t.c.id)
    )
    return [
        SimLead(
            r.id,
            r.kind,
            r.zip_code,
            r.asking_price_cents,
            r.bedrooms,
            r.preview_latitude,
            r.preview_longitude,
            r.score_bucket,
        )
        for r in rows
    ]


def agent_email(seed: int, i: int) -> str:
    """Simulated agent `i` of the run seeded `seed` (example.com: reserved, never delivered)."""
    return f"sim-pref-{seed}-{i:04d}@example.com"


async def _agent_accounts(
    session: AsyncSession, count: int, seed: int, now: datetime
) -> list[tuple[int, Tier]]:
    """The run's agent accounts, made when missing (tiers in turn: basic, basic, pro, pro,
    enterprise), with a password hash nobody can sign in with."""
    out: list[tuple[int, Tier]] = []
    for i in range(count):
        email = agent_email(seed, i)
        account = await accounts.account_by_email(session, email)
        if account is None:
            account = Account(
                email=email,
                password_hash=NO_PASSWORD,
                role=Role.AGENT.value,
                tier=TIERS[i % len(TIERS)].value,
                is_active=True,
                token_version=0,
                created_at=now,
                updated_at=now,
            )
            await accounts.add(session, account)
        out.append((account.id, Tier(account.tier)))
    return out


async def simulate_agents(
    session: AsyncSession, *, agents: int, days: int, seed: int, now: datetime
) -> AgentSimulation:
    """Make (or reuse) `agents` simulated agent accounts, draw their hidden and stated
    preferences and write `days` of their behaviour before `now` on the leads on the market
    into the event log, in the caller's transaction (see the module docstring). Seeded and
    deterministic. ValueError for `agents` or `days` below 1, or no lead on the market."""
    if agents < 1:
        raise ValueError(f"agents must be at least 1, not {agents}")
    now = as_utc(now)
    leads = await _market_leads(session, now)
    if not leads:
        raise ValueError("no leads on the market to simulate agents on")
    made = await _agent_accounts(session, agents, seed, now)
    planned = plan(leads, made, days=days, seed=seed, now=now)
    await events.append(session, planned.rows)
    return AgentSimulation(
        agents=[
            SimPreferenceAgent(account_id, stated, pref.as_dict())
            for (account_id, _), stated, pref in zip(
                made, planned.stated, planned.hidden, strict=True
            )
        ],
        events=len(planned.rows),
    )
