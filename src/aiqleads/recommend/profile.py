"""An agent's preferences: what it stated, what its behaviour says, and the two combined.

Pure code (no database): the service reads the stated row and the agent's history and hands
them here; training and offline evaluation call the same functions on arrays.

Learned preferences come from the leads the agent viewed, held and bought before `now`, each
event weighted by how much it says (`KIND_WEIGHTS`: a purchase says more than a view) and by
its age (half-life `half_life_days`). Every location is the lead's preview cell (H3 res 8 and its
res-7 parent, the cell centre), never its exact point, so a learned preference cannot carry an
exact point into any answer (DESIGN.md section 2):

* territory: the ZIPs and res-7 cells holding at least `min_share` of the weight (at most 5
  and 10 of them), and the centres of the agent's 20 heaviest res-8 cells ("interest points");
* price: the weighted 10th and 90th percentiles of the asking prices of the agent's dominant
  kind class (sales or rents: never a range mixing the two);
* kinds: each kind's share of the weight; bedrooms: the weighted median;
* purchases: the cell centres of the leads it bought.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import h3
import numpy as np
from numpy.typing import NDArray

from aiqleads.kit.h3cells import PREVIEW_RESOLUTION

# Event kinds as the offline evaluation codes them (Interactions.kind).
VIEW, HOLD, PURCHASE, RETURN = 0, 1, 2, 3
KIND_WEIGHTS: dict[int, float] = {VIEW: 1.0, HOLD: 3.0, PURCHASE: 6.0}
RENT_KINDS = frozenset({"for_rent"})
MIN_CELL_RESOLUTION = 5  # a res-5 cell (~250 km²) expands to 49 res-7 cells; coarser: refused


class PreferenceError(ValueError):
    """A stated preference that cannot be used, with the field and the reason."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Preferences:
    """What an agent stated. Empty sets and None mean "no preference". `cells_r8` and
    `cells_r7`: the stated H3 cells as the preview resolution and its parent see them (a res-8
    cell matches a lead in it; a res 5-7 cell is expanded to its res-7 descendants)."""

    zip_codes: frozenset[str] = frozenset()
    cells: tuple[str, ...] = ()
    cells_r8: frozenset[int] = frozenset()
    cells_r7: frozenset[int] = frozenset()
    center: tuple[float, float] | None = None  # (lat, lon) degrees
    radius_m: float | None = None
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    kinds: frozenset[str] = frozenset()
    bedrooms_min: int | None = None
    bedrooms_max: int | None = None

    @property
    def has_territory(self) -> bool:
        return bool(self.zip_codes or self.cells_r8 or self.cells_r7 or self.center)


def expand_cells(cells: Iterable[str]) -> tuple[frozenset[int], frozenset[int]]:
    """(res-8 cells, res-7 cells) for stated H3 cells given as hex strings.

    Raises PreferenceError for an invalid cell or one finer than the preview resolution (8: a
    finer cell would sort leads by where they are inside their preview cell)."""
    r8: set[int] = set()
    r7: set[int] = set()
    for raw in cells:
        if not h3.is_valid_cell(raw):
            raise PreferenceError("h3_cells", f"{raw!r} is not an H3 cell")
        res = h3.get_resolution(raw)
        if res > PREVIEW_RESOLUTION:
            raise PreferenceError(
                "h3_cells", f"{raw} has resolution {res}; the finest allowed is 8 (the preview)"
            )
        if res < MIN_CELL_RESOLUTION:
            raise PreferenceError(
                "h3_cells", f"{raw} has resolution {res}; the coarsest allowed is 5"
            )
        if res == PREVIEW_RESOLUTION:
            r8.add(int(h3.str_to_int(raw)))
        else:
            kids = [raw] if res == 7 else h3.cell_to_children(raw, 7)
            r7.update(int(h3.str_to_int(c)) for c in kids)
    return frozenset(r8), frozenset(r7)


def stated(
    *,
    zip_codes: Sequence[str] = (),
    h3_cells: Sequence[str] = (),
    center: tuple[float, float] | None = None,
    radius_m: float | None = None,
    price_min_cents: int | None = None,
    price_max_cents: int | None = None,
    kinds: Sequence[str] = (),
    bedrooms_min: int | None = None,
    bedrooms_max: int | None = None,
) -> Preferences:
    """Stated preferences, checked. Raises PreferenceError naming the field: a centre without
    a radius (or the reverse), a price or bedrooms range whose minimum exceeds its maximum."""
    if (center is None) != (radius_m is None):
        raise PreferenceError("radius_m", "a centre needs a radius and a radius a centre")
    if (
        price_min_cents is not None
        and price_max_cents is not None
        and price_min_cents > price_max_cents
    ):
        raise PreferenceError("price_min", "exceeds price_max")
    if bedrooms_min is not None and bedrooms_max is not None and bedrooms_min > bedrooms_max:
        raise PreferenceError("bedrooms_min", "exceeds bedrooms_max")
    r8, r7 = expand_cells(h3_cells)
    return Preferences(
        zip_codes=frozenset(zip_codes),
        cells=tuple(sorted(set(h3_cells))),
        cells_r8=r8,
        cells_r7=r7,
        center=center,
        radius_m=radius_m,
        price_min_cents=price_min_cents,
        price_max_cents=price_max_cents,
        kinds=frozenset(kinds),
        bedrooms_min=bedrooms_min,
        bedrooms_max=bedrooms_max,
    )


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One event of the agent on a lead, with what the lead's preview says: event kind code
    (VIEW, HOLD, PURCHASE), its time (epoch seconds), the lead's ZIP, res-8 and res-7 cells,
    cell centre, asking price in cents, kind and bedrooms."""

    kind: int
    at: float
    lead_id: int
    zip_code: str | None
    h3_r8: int | None
    h3_r7: int | None
    lat: float | None
    lon: float | None
    asking_price_cents: int | None
    lead_kind: str
    bedrooms: int | None


@dataclass(frozen=True, slots=True)
class Learned:
    """What the agent's behaviour says. Shares are of the weighted activity (0-1)."""

    events: int = 0
    zip_shares: dict[str, float] = field(default_factory=dict)
    cell_shares: dict[int, float] = field(default_factory=dict)  # res-7 cell → share
    kind_shares: dict[str, float] = field(default_factory=dict)
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    bedrooms: float | None = None
    interest_points: NDArray[np.float64] = field(
        default_factory=lambda: np.empty((0, 2), dtype=np.float64)
    )
    purchase_points: NDArray[np.float64] = field(
        default_factory=lambda: np.empty((0, 2), dtype=np.float64)
    )
    interacted: frozenset[int] = frozenset()

    @property
    def zips(self) -> list[str]:
        return list(self.zip_shares)

    @property
    def cells_r7(self) -> list[int]:
        return list(self.cell_shares)


def _weighted_quantile(
    values: NDArray[np.float64], weights: NDArray[np.float64], q: float
) -> float:
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    return float(v[int(np.searchsorted(cum, q * cum[-1], side="left").clip(0, len(v) - 1))])


def learn(
    history: Sequence[HistoryItem],
    now: float,
    *,
    half_life_days: float = 30.0,
    min_share: float = 0.1,
) -> Learned:
    """Learned preferences from the agent's events before `now` (epoch seconds); see the module
    docstring for each part. An agent without events learns nothing (`Learned()`)."""
    items = [h for h in history if h.kind in KIND_WEIGHTS and h.at < now]
    if not items:
        return Learned()
    age_days = np.asarray([(now - h.at) / 86_400.0 for h in items])
    w = np.asarray([KIND_WEIGHTS[h.kind] for h in items]) * 0.5 ** (age_days / half_life_days)
    total = float(w.sum())

    def shares(keys: Sequence[object], top: int) -> dict[object, float]:
        acc: dict[object, float] = {}
        for key, weight in zip(keys, w, strict=True):
            if key is not None:
                acc[key] = acc.get(key, 0.0) + float(weight)
        ranked = sorted(acc.items(), key=lambda kv: (-kv[1], str(kv[0])))
        return {k: v / total for k, v in ranked[:top] if v / total >= min_share}

    zips = shares([h.zip_code for h in items], 5)
    cells = shares([h.h3_r7 for h in items], 10)
    kinds = shares([h.lead_kind for h in items], 10)
    rent_w = sum(float(x) for h, x in zip(items, w, strict=True) if h.lead_kind in RENT_KINDS)
    rent = rent_w > total / 2
    priced = [
        (float(h.asking_price_cents), float(x))
        for h, x in zip(items, w, strict=True)
        if h.asking_price_cents and (h.lead_kind in RENT_KINDS) == rent
    ]
    pmin = pmax = None
    if priced:
        pv = np.asarray([p for p, _ in priced])
        pw = np.asarray([x for _, x in priced])
        pmin = int(_weighted_quantile(pv, pw, 0.1))
        pmax = int(_weighted_quantile(pv, pw, 0.9))
    beds = [(float(h.bedrooms), float(x)) for h, x in zip(items, w, strict=True) if h.bedrooms]
    bedrooms = None
    if beds:
        bedrooms = _weighted_quantile(
            np.asarray([b for b, _ in beds]), np.asarray([x for _, x in beds]), 0.5
        )
    cell_w: dict[int, tuple[float, float, float]] = {}
    for h, x in zip(items, w, strict=True):
        if h.h3_r8 is not None and h.lat is not None and h.lon is not None:
            prev = cell_w.get(h.h3_r8, (0.0, h.lat, h.lon))
            cell_w[h.h3_r8] = (prev[0] + float(x), h.lat, h.lon)
    heavy = sorted(cell_w.items(), key=lambda kv: (-kv[1][0], kv[0]))[:20]
    interest = np.asarray([[lat, lon] for _, (_, lat, lon) in heavy], dtype=np.float64)
    bought = {
        h.h3_r8: (h.lat, h.lon)
        for h in items
        if h.kind == PURCHASE and h.h3_r8 is not None and h.lat is not None and h.lon is not None
    }
    purchases = np.asarray(list(bought.values()), dtype=np.float64)
    return Learned(
        events=len(items),
        zip_shares={str(k): v for k, v in zips.items()},
        cell_shares={int(str(k)): v for k, v in cells.items()},
        kind_shares={str(k): v for k, v in kinds.items()},
        price_min_cents=pmin,
        price_max_cents=pmax,
        bedrooms=bedrooms,
        interest_points=interest.reshape(-1, 2),
        purchase_points=purchases.reshape(-1, 2),
        interacted=frozenset(h.lead_id for h in items),
    )


@dataclass(frozen=True, slots=True)
class Profile:
    """Stated and learned preferences together. The territory is their union; for price,
    kinds and bedrooms a stated preference wins over a learned one."""

    stated: Preferences
    learned: Learned

    @property
    def is_cold(self) -> bool:
        """A new agent: no behaviour yet (ranked from stated preferences and lead score)."""
        return self.learned.events == 0

    @property
    def zips(self) -> frozenset[str]:
        return self.stated.zip_codes | frozenset(self.learned.zips)

    @property
    def cells_r7(self) -> frozenset[int]:
        return self.stated.cells_r7 | frozenset(self.learned.cells_r7)

    @property
    def price_range(self) -> tuple[int | None, int | None]:
        s = self.stated
        if s.price_min_cents is not None or s.price_max_cents is not None:
            return s.price_min_cents, s.price_max_cents
        return self.learned.price_min_cents, self.learned.price_max_cents

    @property
    def has_territory(self) -> bool:
        return bool(self.stated.has_territory or self.zips or self.cells_r7)
