"""Agent × lead features, computed from lead PREVIEWS only (pure numpy, no database).

A lead here is what an agent who has not bought it may see (DESIGN.md section 2): its preview
cell (H3 res 8, its res-7 parent and the cell centre), ZIP, kind, bedrooms, asking price, score
bucket, publication time and the demand factor of its price. Never the exact point, the exact
score, the source or the listing office: so no ranking, and no reason, can move when an
unbought lead's exact point moves inside its cell.

Features (`FEATURE_NAMES`, in column order; NaN where unknown, which LightGBM sends down the
side of each split that learned it):

* territory_zip: 1 when the ZIP is one the agent stated, 0 otherwise (NaN: no stated ZIPs);
* territory_cell: 1 in a stated res-8 cell, 1 in a stated coarser cell, else 0 (NaN: none);
* territory_radius: great-circle distance from the cell centre to the stated centre divided by
  the stated radius (≤ 1 inside; NaN: no radius);
* learned_zip_share, learned_cell_share: the share of the agent's weighted activity in the
  lead's ZIP and res-7 cell (profile.learn; NaN for a new agent);
* price_gap: 0 inside the price range (stated, else learned), else |ln(price / nearest bound)|;
* kind_match: stated kinds: 1 or 0; else the learned share of the lead's kind;
* bedrooms_gap: bedrooms outside the stated range (or |beds − learned median|);
* score_bucket: the bucket's midpoint (leads.scores.BUCKET_MIDPOINT; NaN unscored);
* age_hours: hours since publication (freshness);
* purchase_distance_km, interest_distance_km: km from the cell centre to the nearest centre of
  a cell the agent bought in, and of its 20 heaviest cells of activity;
* local_competition: holds and purchases on leads of the lead's res-7 cell in the 30 days
  before now (every agent's), ln(1 + n);
* price_vs_neighbourhood: ln(asking price / median asking price of the other leads ranked with
  it in the same ZIP and kind class, sales or rents; the class's median over the whole pool
  when the ZIP has fewer than 5);
* demand: the demand multiplier of the lead's price (the preview shows it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aiqleads.kit.distance import EARTH_RADIUS_M
from aiqleads.leads.scores import BUCKET_MIDPOINT
from aiqleads.recommend.profile import RENT_KINDS, Profile

FEATURES_VERSION = "1"
FEATURE_NAMES: tuple[str, ...] = (
    "territory_zip",
    "territory_cell",
    "territory_radius",
    "learned_zip_share",
    "learned_cell_share",
    "price_gap",
    "kind_match",
    "bedrooms_gap",
    "score_bucket",
    "age_hours",
    "purchase_distance_km",
    "interest_distance_km",
    "local_competition",
    "price_vs_neighbourhood",
    "demand",
)
COMPETITION_DAYS = 30
_MIN_NEIGHBOURS = 5
NAN = float("nan")


@dataclass(frozen=True, slots=True)
class LeadTable:
    """Leads as equal-length arrays of their preview columns. `ids`: lead row ids (int64);
    `lat`, `lon`: cell centre (degrees); `h3_r8`, `h3_r7` (int64, 0 unknown); `zip_code`
    (object: str or None); `kind` (object str); `bedrooms`, `asking_price` (cents), `bucket`
    (midpoint), `demand` (float64, NaN unknown); `published_at` (epoch seconds)."""

    ids: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    h3_r8: NDArray[np.int64]
    h3_r7: NDArray[np.int64]
    zip_code: NDArray[Any]
    kind: NDArray[Any]
    bedrooms: NDArray[np.float64]
    asking_price: NDArray[np.float64]
    bucket: NDArray[np.float64]
    published_at: NDArray[np.float64]
    demand: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def take(self, idx: NDArray[np.int64] | Sequence[int]) -> LeadTable:
        i = np.asarray(idx, dtype=np.int64)
        return LeadTable(**{name: getattr(self, name)[i] for name in self.__slots__})

    @classmethod
    def from_rows(cls, rows: Sequence[Any]) -> LeadTable:
        """From rows with attributes id, preview_latitude, preview_longitude, h3_r8, h3_r7,
        zip_code, kind, bedrooms, asking_price_cents, score_bucket, published_at (aware
        datetime) and either demand (float or None: the price's demand factor, as
        `recommend.repository.DEMAND` reads it) or price_factors (dict or None)."""

        if not rows:
            return cls._empty()
        columns = _columns(rows)
        if "demand" in columns:
            demand = columns["demand"]
        else:
            demand = [
                NAN if not p or p.get("demand") is None else p["demand"]
                for p in columns["price_factors"]
            ]
        # Each column converted at once by numpy (None becomes NaN in `_floats`).
        return cls(
            ids=np.asarray(columns["id"], dtype=np.int64),
            lat=_floats(columns["preview_latitude"]),
            lon=_floats(columns["preview_longitude"]),
            h3_r8=np.asarray([c or 0 for c in columns["h3_r8"]], dtype=np.int64),
            h3_r7=np.asarray([c or 0 for c in columns["h3_r7"]], dtype=np.int64),
            zip_code=np.asarray(columns["zip_code"], dtype=object),
            kind=np.asarray(columns["kind"], dtype=object),
            bedrooms=_floats(columns["bedrooms"]),
            asking_price=_floats(columns["asking_price_cents"]),
            bucket=np.asarray(
                [BUCKET_MIDPOINT.get(b or "", NAN) for b in columns["score_bucket"]],
                dtype=np.float64,
            ),
            published_at=np.asarray(
                [t.timestamp() for t in columns["published_at"]], dtype=np.float64
            ),
            demand=_floats(demand),
        )

    @classmethod
    def _empty(cls) -> LeadTable:
        f, i, o = np.empty(0, np.float64), np.empty(0, np.int64), np.empty(0, dtype=object)
        return cls(
            ids=i,
            lat=f,
            lon=f,
            h3_r8=i,
            h3_r7=i,
            zip_code=o,
            kind=o,
            bedrooms=f,
            asking_price=f,
            bucket=f,
            published_at=f,
            demand=f,
        )


_ROW_FIELDS = (
    "id",
    "preview_latitude",
    "preview_longitude",
    "h3_r8",
    "h3_r7",
    "zip_code",
    "kind",
    "bedrooms",
    "asking_price_cents",
    "score_bucket",
    "published_at",
)


def _columns(rows: Sequence[Any]) -> dict[str, Sequence[Any]]:
    """name → the rows' values of that column. Result rows (named tuples: `_fields`) are
    transposed at once by `zip` (reading each row's attributes one by one was most of this
    conversion's time); other objects are read by attribute."""
    fields = getattr(rows[0], "_fields", None)
    if fields is not None:
        return dict(zip(fields, zip(*rows, strict=True), strict=True))
    extra = ("demand",) if hasattr(rows[0], "demand") else ("price_factors",)
    return {name: [getattr(r, name) for r in rows] for name in (*_ROW_FIELDS, *extra)}


def _floats(values: Sequence[Any]) -> NDArray[np.float64]:
    """float64 of numbers or None (NaN)."""
    return np.asarray([NAN if v is None else v for v in values], dtype=np.float64)


def haversine_km(
    lat: NDArray[np.float64], lon: NDArray[np.float64], points: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Distance in km from each (lat[i], lon[i]) to the nearest of `points` (m, 2) degrees;
    NaN when there are no points. Haversine on the mean Earth radius."""
    if points.size == 0 or lat.size == 0:
        return np.full(lat.shape, NAN)
    p1 = np.radians(lat)[:, None]
    p2 = np.radians(points[:, 0])[None, :]
    dl = np.radians(points[:, 1])[None, :] - np.radians(lon)[:, None]
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    d = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))) / 1000.0
    out: NDArray[np.float64] = d.min(axis=1)
    return out


def neighbourhood_ratio(leads: LeadTable) -> NDArray[np.float64]:
    """ln(asking price / median of the pool's leads in the same ZIP and kind class); see the
    module docstring. NaN without a price."""
    out = np.full(len(leads), NAN)
    price = leads.asking_price
    rent = np.asarray([k in RENT_KINDS for k in leads.kind], dtype=bool)
    priced = ~np.isnan(price) & (price > 0)
    for cls_mask in (rent, ~rent):
        base = priced & cls_mask
        if not base.any():
            continue
        class_median = float(np.median(price[base]))
        zips = leads.zip_code[base]
        for z in set(zips.tolist()):
            m = base & (leads.zip_code == z)
            med = float(np.median(price[m])) if m.sum() >= _MIN_NEIGHBOURS else class_median
            out[m] = np.log(price[m] / med)
    return out


def feature_matrix(
    profile: Profile,
    leads: LeadTable,
    now: float,
    *,
    competition: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """The (n, len(FEATURE_NAMES)) float64 matrix of agent × lead features at `now` (epoch
    seconds). `competition`: holds and purchases per lead's res-7 cell in the 30 days before
    now (NaN when not given)."""
    n = len(leads)
    s, learned = profile.stated, profile.learned
    X = np.full((n, len(FEATURE_NAMES)), NAN)
    if s.zip_codes:
        X[:, 0] = np.asarray([z in s.zip_codes for z in leads.zip_code], dtype=np.float64)
    if s.cells_r8 or s.cells_r7:
        in8 = np.isin(leads.h3_r8, np.fromiter(s.cells_r8, np.int64, len(s.cells_r8)))
        in7 = np.isin(leads.h3_r7, np.fromiter(s.cells_r7, np.int64, len(s.cells_r7)))
        X[:, 1] = (in8 | in7).astype(np.float64)
    if s.center is not None and s.radius_m:
        point = np.asarray([s.center], dtype=np.float64)
        X[:, 2] = haversine_km(leads.lat, leads.lon, point) * 1000.0 / s.radius_m
    if not profile.is_cold:
        X[:, 3] = [learned.zip_shares.get(z, 0.0) if z else 0.0 for z in leads.zip_code]
        X[:, 4] = [learned.cell_shares.get(int(c), 0.0) for c in leads.h3_r7]
    lo, hi = profile.price_range
    if lo is not None or hi is not None:
        price = leads.asking_price
        gap = np.zeros(n)
        with np.errstate(divide="ignore", invalid="ignore"):
            if lo is not None and lo > 0:
                gap = np.where(price < lo, np.log(lo / price), gap)
            if hi is not None and hi > 0:
                gap = np.where(price > hi, np.log(price / hi), gap)
        X[:, 5] = np.where(np.isnan(price) | (price <= 0), NAN, gap)
    if s.kinds:
        X[:, 6] = np.asarray([k in s.kinds for k in leads.kind], dtype=np.float64)
    elif learned.kind_shares:
        X[:, 6] = [learned.kind_shares.get(k, 0.0) for k in leads.kind]
    beds = leads.bedrooms
    if s.bedrooms_min is not None or s.bedrooms_max is not None:
        below = np.maximum((s.bedrooms_min or 0) - beds, 0)
        above = np.maximum(beds - (s.bedrooms_max if s.bedrooms_max is not None else 99), 0)
        X[:, 7] = below + above
    elif learned.bedrooms is not None:
        X[:, 7] = np.abs(beds - learned.bedrooms)
    X[:, 8] = leads.bucket
    X[:, 9] = np.maximum(now - leads.published_at, 0.0) / 3600.0
    X[:, 10] = haversine_km(leads.lat, leads.lon, learned.purchase_points)
    X[:, 11] = haversine_km(leads.lat, leads.lon, learned.interest_points)
    if competition is not None:
        X[:, 12] = np.log1p(competition)
    X[:, 13] = neighbourhood_ratio(leads)
    X[:, 14] = leads.demand
    return X


def territory_mask(profile: Profile, leads: LeadTable) -> NDArray[np.bool_]:
    """Which leads lie in the agent's territory (stated ∪ learned): a ZIP, a cell (res 8 or a
    coarser one), or within the stated radius of the stated centre (from the cell centre)."""
    s = profile.stated
    zips = profile.zips
    mask = (
        np.asarray([z in zips for z in leads.zip_code], dtype=bool)
        if zips
        else np.zeros(len(leads), dtype=bool)
    )
    if s.cells_r8:
        mask |= np.isin(leads.h3_r8, np.fromiter(s.cells_r8, np.int64, len(s.cells_r8)))
    r7 = profile.cells_r7
    if r7:
        mask |= np.isin(leads.h3_r7, np.fromiter(r7, np.int64, len(r7)))
    if s.center is not None and s.radius_m:
        d = haversine_km(leads.lat, leads.lon, np.asarray([s.center], dtype=np.float64))
        mask |= d * 1000.0 <= s.radius_m
    return mask
