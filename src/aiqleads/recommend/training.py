"""Training sets, and in-memory recommenders, from interactions over a lead table.

Interactions are equal-length arrays `user`, `item` (lead ids), `kind` (0 view, 1 hold,
2 purchase, 3 return) and `at` (epoch seconds): the shape of
`aiqleads.recommend.evaluation.data.Interactions`, or the event log read by `service`.

Groups (LambdaRank's queries): one per agent × UTC day with views, holds or purchases; its
decision time `t` is the day's first event. The agent's profile is learned from its events
strictly before `t` (no leakage from the day it is asked to predict). Rows: every lead it
touched that day, labelled by the most it did (3 purchase, 2 hold, 1 view), and `negatives`
leads drawn at random from the candidates it could have been shown at `t` (its territory,
published by `t`, not bought by anyone before `t`; the freshest `pool` of them, as serving
takes), labelled 0. Features are those served (`features.feature_matrix`), the competition
count from the holds and purchases before `t`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from aiqleads.recommend.features import (
    COMPETITION_DAYS,
    LeadTable,
    feature_matrix,
    haversine_km,
)
from aiqleads.recommend.profile import (
    HOLD,
    KIND_WEIGHTS,
    PURCHASE,
    HistoryItem,
    Preferences,
    Profile,
    learn,
)
from aiqleads.recommend.ranker import Ranker, cold_start_scores

DAY = 86_400.0


class InteractionArrays(Protocol):
    @property
    def user(self) -> NDArray[np.int64]: ...
    @property
    def item(self) -> NDArray[np.int64]: ...
    @property
    def kind(self) -> NDArray[np.int8]: ...
    @property
    def at(self) -> NDArray[np.float64]: ...


class LeadIndex:
    """A lead table with look-ups by ZIP, res-8 and res-7 cell, and by lead id.

    Each look-up holds its leads' positions in serving order (freshest first, ties by
    position) beside their negated publication times (ascending), so `candidates` finds the
    leads published by `t` with one binary search per look-up and reads only as many as it
    keeps, not every lead of the territory: at 1M leads a territory holds tens of thousands."""

    def __init__(self, leads: LeadTable) -> None:
        self.leads = leads
        self.position = {int(i): p for p, i in enumerate(leads.ids.tolist())}
        self.by_freshness = np.argsort(-leads.published_at, kind="stable")
        self._neg_at = -leads.published_at
        self.by_zip = self._group(leads.zip_code, self.by_freshness)
        self.by_r8 = self._group(leads.h3_r8, self.by_freshness)
        self.by_r7 = self._group(leads.h3_r7, self.by_freshness)
        self._sold_for: Mapping[int, float] | None = None
        self._sold = np.full(len(leads), np.inf)
        # The last radius asked for (training and evaluation ask for one agent's many times
        # in a row): (centre, radius in metres) → its leads in serving order.
        self._radius: tuple[tuple[float, float, float], NDArray[np.int64]] | None = None

    @staticmethod
    def _group(keys: NDArray[Any], order: NDArray[np.int64]) -> dict[object, NDArray[np.int64]]:
        """key → positions with that key, in `order` (None and 0 keys left out)."""
        acc: dict[object, list[int]] = defaultdict(list)
        for p, k in zip(order.tolist(), keys[order].tolist(), strict=True):
            if k is not None and k != 0:
                acc[k].append(p)
        return {k: np.asarray(v, dtype=np.int64) for k, v in acc.items()}

    def history(self, user_events: Sequence[tuple[float, int, int]]) -> list[HistoryItem]:
        """HistoryItems for (at, kind, lead id) events, from the leads' previews."""
        L = self.leads
        out = []
        for at, kind, lead_id in user_events:
            p = self.position.get(lead_id)
            if p is None:
                continue
            price = L.asking_price[p]
            beds = L.bedrooms[p]
            out.append(
                HistoryItem(
                    kind=kind,
                    at=at,
                    lead_id=lead_id,
                    zip_code=L.zip_code[p],
                    h3_r8=int(L.h3_r8[p]) or None,
                    h3_r7=int(L.h3_r7[p]) or None,
                    lat=float(L.lat[p]),
                    lon=float(L.lon[p]),
                    asking_price_cents=None if np.isnan(price) else int(price),
                    lead_kind=str(L.kind[p]),
                    bedrooms=None if np.isnan(beds) else int(beds),
                )
            )
        return out

    def in_radius(self, center: tuple[float, float], radius_m: float) -> NDArray[np.int64]:
        """Positions of the leads whose cell centre lies within `radius_m` metres of `center`
        (lat, lon degrees; great circle), in serving order."""
        key = (center[0], center[1], float(radius_m))
        if self._radius is None or self._radius[0] != key:
            L = self.leads
            d = haversine_km(L.lat, L.lon, np.asarray([center])) * 1000
            order = self.by_freshness
            self._radius = (key, order[d[order] <= radius_m])
        return self._radius[1]

    def _freshest(
        self, part: NDArray[np.int64], t: float, pool: int, sold: NDArray[np.float64] | None
    ) -> NDArray[np.int64]:
        """The first `pool` of `part` (positions in serving order) published by `t` and not
        bought before `t`."""
        start = int(np.searchsorted(self._neg_at[part], -t, side="left"))
        if sold is None:
            return part[start : start + pool]
        kept: list[NDArray[np.int64]] = []
        found = 0
        step = 2 * pool
        while start < len(part) and found < pool:
            chunk = part[start : start + step]
            ok = chunk[sold[chunk] >= t]
            kept.append(ok)
            found += len(ok)
            start += step
            step *= 2
        if not kept:
            return part[:0]
        return np.concatenate(kept)[:pool]

    def candidates(
        self, profile: Profile, t: float, *, pool: int, unavailable: Mapping[int, float]
    ) -> NDArray[np.int64]:
        """Positions of the freshest `pool` leads in the profile's territory (anywhere when it
        has none), published by `t` and not made unavailable (bought) before `t`; freshest
        first, ties by position.

        Each look-up of the territory gives its own first `pool` (`_freshest`); the
        territory's first `pool` are among theirs, so only those are merged."""
        s = profile.stated
        sold = self.sold_at(unavailable) if unavailable else None
        if not profile.has_territory:
            return self._freshest(self.by_freshness, t, pool, sold)
        empty = np.empty(0, np.int64)
        parts = [self.by_zip.get(z, empty) for z in profile.zips]
        parts += [self.by_r8.get(c, empty) for c in s.cells_r8]
        parts += [self.by_r7.get(c, empty) for c in profile.cells_r7]
        if s.center is not None and s.radius_m:
            parts.append(self.in_radius(s.center, s.radius_m))
        if not parts:
            return empty
        merged = np.concatenate([self._freshest(p, t, pool, sold) for p in parts])
        # Serving order (freshest first, ties by position); a lead in two look-ups sorts
        # next to itself and is kept once.
        merged = np.sort(merged)
        merged = merged[np.argsort(self._neg_at[merged], kind="stable")]
        if len(merged) > 1:
            merged = merged[np.concatenate(([True], merged[1:] != merged[:-1]))]
        return merged[:pool]

    def sold_at(self, unavailable: Mapping[int, float]) -> NDArray[np.float64]:
        """When each lead (by position) was bought (inf: never), from lead id → time; kept
        for the last mapping given (training and evaluation pass one mapping many times)."""
        if self._sold_for is not unavailable:
            out = np.full(len(self.leads), np.inf)
            for lead_id, at in unavailable.items():
                p = self.position.get(lead_id)
                if p is not None:
                    out[p] = at
            self._sold_for, self._sold = unavailable, out
        return self._sold


class Competition:
    """Holds and purchases per res-8 cell over time, to count those in the 30 days before t."""

    def __init__(self, index: LeadIndex, inter: InteractionArrays) -> None:
        acc: dict[int, list[float]] = defaultdict(list)
        for item, kind, at in zip(
            inter.item.tolist(), inter.kind.tolist(), inter.at.tolist(), strict=True
        ):
            if kind in (HOLD, PURCHASE):
                p = index.position.get(int(item))
                if p is not None:
                    acc[int(index.leads.h3_r8[p])].append(float(at))
        self._times = {c: np.sort(np.asarray(v)) for c, v in acc.items()}

    def counts(self, cells: NDArray[np.int64], t: float) -> NDArray[np.float64]:
        out = np.zeros(len(cells))
        for j, c in enumerate(cells.tolist()):
            times = self._times.get(int(c))
            if times is not None:
                lo = np.searchsorted(times, t - COMPETITION_DAYS * DAY, side="left")
                hi = np.searchsorted(times, t, side="left")
                out[j] = hi - lo
        return out


@dataclass(frozen=True, slots=True)
class TrainingSet:
    X: NDArray[np.float64]
    y: NDArray[np.int64]
    groups: list[int]
    start: float | None
    end: float | None


def _events_by_user(inter: InteractionArrays) -> dict[int, list[tuple[float, int, int]]]:
    order = np.lexsort((inter.item, inter.at, inter.user))
    out: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    for i in order.tolist():
        out[int(inter.user[i])].append((float(inter.at[i]), int(inter.kind[i]), int(inter.item[i])))
    return out


def first_purchase(inter: InteractionArrays) -> dict[int, float]:
    """Lead id → when it was first bought (it is unavailable from then on)."""
    out: dict[int, float] = {}
    for item, kind, at in zip(
        inter.item.tolist(), inter.kind.tolist(), inter.at.tolist(), strict=True
    ):
        if kind == PURCHASE and at < out.get(int(item), np.inf):
            out[int(item)] = float(at)
    return out


def build_training_set(
    index: LeadIndex,
    inter: InteractionArrays,
    stated: Mapping[int, Preferences],
    *,
    start: float | None = None,
    end: float | None = None,
    negatives: int = 20,
    pool: int = 300,
    seed: int = 0,
    history_limit: int = 500,
) -> TrainingSet:
    """Groups in time order from the interactions with start ≤ at < end (see the module
    docstring); history before `start` still shapes profiles."""
    rng = np.random.default_rng(seed)
    by_user = _events_by_user(inter)
    bought = first_purchase(inter)
    comp = Competition(index, inter)
    groups: list[tuple[float, int, NDArray[np.float64], NDArray[np.int64]]] = []
    for user in sorted(by_user):
        evs = by_user[user]
        # The user's history once, in time order; each group takes the part before its t
        # (at most `history_limit` latest events, as serving reads).
        items = index.history(evs)
        times = [h.at for h in items]
        days: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
        for ev in evs:
            at, kind, _ = ev
            if (
                kind in KIND_WEIGHTS
                and (start is None or at >= start)
                and (end is None or at < end)
            ):
                days[int(at // DAY)].append(ev)
        for day in sorted(days):
            todays = days[day]
            t = min(at for at, _, _ in todays)
            label: dict[int, int] = {}
            for _, kind, item in todays:
                if item in index.position:
                    label[item] = max(label.get(item, 0), kind + 1)
            if not label:
                continue
            profile = Profile(
                stated.get(user, Preferences()),
                learn(items[max(0, (n := bisect_left(times, t)) - history_limit) : n], t),
            )
            pos = np.asarray([index.position[i] for i in label], dtype=np.int64)
            cands = index.candidates(profile, t, pool=pool, unavailable=bought)
            cands = np.setdiff1d(cands, pos)
            if len(cands) > negatives:
                cands = rng.choice(cands, size=negatives, replace=False)
            rows = np.concatenate([pos, np.sort(cands)])
            table = index.leads.take(rows)
            X = feature_matrix(profile, table, t, competition=comp.counts(table.h3_r8, t))
            y = np.zeros(len(rows), dtype=np.int64)
            y[: len(pos)] = [label[int(i)] for i in index.leads.ids[pos]]
            groups.append((t, user, X, y))
    groups.sort(key=lambda g: (g[0], g[1]))
    if not groups:
        return TrainingSet(np.empty((0, 15)), np.empty(0, np.int64), [], start, end)
    return TrainingSet(
        np.vstack([g[2] for g in groups]),
        np.concatenate([g[3] for g in groups]),
        [len(g[3]) for g in groups],
        start,
        end,
    )


# --- in-memory recommenders (the offline evaluation's `Recommender` protocol) ------------------


class _ProfileRecommender:
    """Shared by the learned and nearest recommenders: profiles from the training
    interactions, candidates as serving takes them, at the instant `now`."""

    def __init__(
        self,
        index: LeadIndex,
        stated: Mapping[int, Preferences],
        *,
        now: float,
        pool: int = 300,
        max_per_cell: int | None = None,
    ) -> None:
        self.index = index
        self.stated = stated
        self.now = now
        self.pool = pool
        self.max_per_cell = max_per_cell
        self._events: dict[int, list[tuple[float, int, int]]] = {}
        self._bought: dict[int, float] = {}
        self._comp: Competition | None = None

    def fit(self, train: InteractionArrays) -> None:
        self._events = _events_by_user(train)
        self._bought = first_purchase(train)
        self._comp = Competition(self.index, train)

    def profile(self, user: int) -> Profile:
        history = self.index.history(self._events.get(user, []))
        return Profile(self.stated.get(user, Preferences()), learn(history, self.now))

    def _scores(self, profile: Profile, table: LeadTable) -> NDArray[np.float64]:
        raise NotImplementedError

    def recommend(self, user: int, k: int, exclude: frozenset[int] | set[int]) -> list[int]:
        profile = self.profile(user)
        cands = self.index.candidates(profile, self.now, pool=self.pool, unavailable=self._bought)
        table = self.index.leads.take(cands)
        keep = np.asarray([int(i) not in exclude for i in table.ids], dtype=bool)
        table = table.take(np.flatnonzero(keep))
        if len(table) == 0:
            return []
        scores = self._scores(profile, table)
        ranked = np.lexsort((table.ids, -scores))
        if self.max_per_cell is None:
            return [int(i) for i in table.ids[ranked[:k]]]
        from aiqleads.recommend.ranking import diversify

        chosen = diversify(ranked.tolist(), table.h3_r8, max_per_cell=self.max_per_cell, limit=k)
        return [int(table.ids[i]) for i in chosen]


class LearnedRecommender(_ProfileRecommender):
    """The LambdaRank model (cold-start scorer for agents without training history), trained
    in `fit` on the training interactions."""

    def __init__(self, *args: object, negatives: int = 20, seed: int = 0, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.negatives = negatives
        self.seed = seed
        self.ranker: Ranker | None = None

    def fit(self, train: InteractionArrays) -> None:
        from aiqleads.recommend.ranker import train as train_ranker

        super().fit(train)
        ts = build_training_set(
            self.index, train, self.stated, negatives=self.negatives, pool=self.pool, seed=self.seed
        )
        self.ranker = train_ranker(
            ts.X, ts.y, ts.groups, version="offline", trained_at="", training_window=None
        )

    def _scores(self, profile: Profile, table: LeadTable) -> NDArray[np.float64]:
        assert self._comp is not None
        X = feature_matrix(
            profile, table, self.now, competition=self._comp.counts(table.h3_r8, self.now)
        )
        if self.ranker is None or profile.is_cold:
            return cold_start_scores(X)
        return self.ranker.score(X)


class NearestRecommender(_ProfileRecommender):
    """The nearest-in-territory baseline: the agent's territory candidates, nearest first to
    its stated centre, else to its nearest interest point (heaviest cells of activity), else
    freshest first."""

    def _scores(self, profile: Profile, table: LeadTable) -> NDArray[np.float64]:
        s = profile.stated
        if s.center is not None:
            points = np.asarray([s.center], dtype=np.float64)
        else:
            points = profile.learned.interest_points
        d = haversine_km(table.lat, table.lon, points)
        if np.isnan(d).all():
            return table.published_at.astype(np.float64)
        return -np.nan_to_num(d, nan=1e9)
