"""From scores to a served list: order, diversification by cell, reasons in words.

All from previews (DESIGN.md section 2): the cell is the lead's H3 res-8 preview cell, the
reasons quote only preview fields and distances between cell centres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from aiqleads.recommend.features import FEATURE_NAMES, LeadTable

_COL = {name: i for i, name in enumerate(FEATURE_NAMES)}
_KIND_WORDS = {
    "fsbo": "for-sale-by-owner",
    "for_sale": "for-sale",
    "for_rent": "rental",
    "expired": "expired-listing",
    "other": "other",
}
MAX_REASONS = 3


def order(scores: NDArray[np.float64], ties: Sequence[str]) -> list[int]:
    """Positions by score, best first; equal scores by `ties` (the public ids: random, so a
    tie says nothing about when or where a lead was stored)."""
    return sorted(range(len(scores)), key=lambda i: (-float(scores[i]), ties[i]))


def diversify(
    ranked: Sequence[int], cells: NDArray[np.int64], *, max_per_cell: int, limit: int
) -> list[int]:
    """The first `limit` of `ranked` taking at most `max_per_cell` leads of one H3 res-8 cell
    (greedy, in rank order: a lead skipped for its cell is never brought back, so the list may
    be shorter than `limit` when the candidates crowd in few cells)."""
    taken: dict[int, int] = {}
    out: list[int] = []
    for i in ranked:
        cell = int(cells[i])
        if taken.get(cell, 0) >= max_per_cell:
            continue
        taken[cell] = taken.get(cell, 0) + 1
        out.append(i)
        if len(out) >= limit:
            break
    return out


def _ok(v: float) -> bool:
    return not math.isnan(v)


def reason(x: NDArray[np.float64], leads: LeadTable, i: int) -> str:
    """Why lead `i` (row `x` of the feature matrix) is recommended, in words: up to three
    clauses, most specific first (stated territory, behaviour, price, kind, score, freshness)."""
    f = {name: float(x[j]) for name, j in _COL.items()}
    zip_code = leads.zip_code[i]
    clauses: list[str] = []
    if f["territory_zip"] == 1.0 and zip_code:
        clauses.append(f"in your ZIP {zip_code}")
    elif f["territory_cell"] == 1.0:
        clauses.append("in your area")
    elif _ok(f["territory_radius"]) and f["territory_radius"] <= 1.0:
        clauses.append("within your radius")
    if _ok(f["purchase_distance_km"]) and f["purchase_distance_km"] <= 2.0:
        clauses.append(f"{f['purchase_distance_km']:.1f} km from leads you bought")
    elif _ok(f["learned_zip_share"]) and f["learned_zip_share"] >= 0.1 and zip_code:
        clauses.append(f"in {zip_code}, where you are most active")
    if f["price_gap"] == 0.0:
        clauses.append("in your price range")
    if _ok(f["kind_match"]) and f["kind_match"] >= 0.5:
        clauses.append(f"a {_KIND_WORDS.get(str(leads.kind[i]), 'matching')} lead, as you prefer")
    if f["score_bucket"] >= 0.8:
        clauses.append("high lead score")
    if _ok(f["age_hours"]) and f["age_hours"] < 24.0:
        clauses.append("new in the last day")
    if _ok(f["price_vs_neighbourhood"]) and f["price_vs_neighbourhood"] <= -0.15:
        below = round((1 - math.exp(f["price_vs_neighbourhood"])) * 100)
        clauses.append(f"asking {below}% below similar leads in its ZIP")
    if not clauses:
        clauses.append("fresh on the market" if f["age_hours"] < 168 else "on the market now")
    text = "; ".join(clauses[:MAX_REASONS])
    return text[0].upper() + text[1:]
