"""A score's top reasons in words, from the model's per-lead contributions (TreeSHAP,
LightGBM `pred_contrib`).

Each reason names a feature whose contribution pushed this lead's log-odds up or down the most,
in words an agent reads ("owner phone on file", "priced 12 % below the neighbourhood median",
"3 agents viewed it in the last 7 days"). Reasons an agent may see before buying (`preview`)
are only those made from what the preview shows or the market's own activity: never a feature
of the exact point (leads or competitors within 1 km, the distance to a cluster), which would
locate the lead more finely than its preview cell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Words = Callable[[float], str | None]


def _count(one: str, many: str) -> Words:
    def words(v: float) -> str | None:
        n = round(v)
        if n <= 0:
            return None
        return one if n == 1 else many.format(n=n)

    return words


def _flag(on: str, off: str) -> Words:
    return lambda v: on if v >= 0.5 else off


def _vs_median(v: float) -> str | None:
    # price_vs_nbhd is the lead's price over its neighbourhood's median, less 1 (-0.12: 12 %
    # below); features gives 0 also when either is unknown, so "about at the median" says nothing.
    pct = round(abs(v) * 100)
    if pct < 1:
        return None
    return f"priced {pct} % {'below' if v < 0 else 'above'} the neighbourhood median"


@dataclass(frozen=True, slots=True)
class Phrase:
    words: Words
    preview: bool  # may an agent who has not bought the lead read it?


PHRASES: dict[str, Phrase] = {
    "has_owner_phone": Phrase(_flag("owner phone on file", "no owner phone on file"), True),
    "has_owner_email": Phrase(_flag("owner e-mail on file", "no owner e-mail on file"), True),
    "has_owner_name": Phrase(_flag("owner name on file", "no owner name on file"), True),
    "price_vs_nbhd": Phrase(_vs_median, True),
    "agents_24h": Phrase(_count("1 agent viewed it today", "{n} agents viewed it today"), True),
    "agents_7d": Phrase(
        _count("1 agent looked at it this week", "{n} agents looked at it this week"), True
    ),
    "views_7d": Phrase(_count("viewed once this week", "viewed {n} times this week"), True),
    "holds_30d": Phrase(_count("held once this month", "held {n} times this month"), True),
    "freshness_days": Phrase(lambda v: f"listed {round(v)} days ago", True),
    "property_facts": Phrase(lambda v: f"{round(v)} of 5 property facts known", True),
    "has_asking_price": Phrase(_flag("asking price known", "no asking price"), True),
    "kind_fsbo": Phrase(_flag("for sale by owner", "listed by an agent"), True),
    "leads_nearby": Phrase(_count("1 other lead nearby", "{n} other leads nearby"), False),
    "competitors_nearby": Phrase(
        _count("1 competing listing nearby", "{n} competing listings nearby"), False
    ),
    "cluster_distance_km": Phrase(lambda v: f"{v:.1f} km from the nearest cluster", False),
}


def top_reasons(
    names: Sequence[str],
    values: NDArray[np.float64],
    contributions: NDArray[np.float64],
    *,
    limit: int = 3,
    phrases: Mapping[str, Phrase] = PHRASES,
) -> list[dict[str, Any]]:
    """One lead's reasons to store: the `limit` with the largest absolute contribution among
    every phrase (what whoever may read the whole lead sees: its buyer, admins) and the `limit`
    largest among the preview-safe phrases alone (what an unbought preview shows), in one list
    by decreasing absolute contribution.

    The preview's reasons are chosen among preview-safe phrases only, so a feature of the exact
    point never takes one of their places: which reasons a preview shows does not depend on
    such a feature's contribution (DESIGN.md section 2). A preview-safe reason among the top
    `limit` of all is also among the top `limit` safe ones, so the list holds at most
    2 × `limit` reasons.

    `values` (k,) are the lead's feature values in `names` order; `contributions` (k,) or
    (k + 1,) its TreeSHAP contributions (the bias column, if present, is ignored). Features
    without a phrase, or whose phrase has no words for this value, are skipped; a contribution
    of exactly 0 gives no reason. Each reason: {"feature", "text", "direction" ("up"/"down"),
    "preview" (bool: the phrase is preview-safe; a preview shows every such reason of the
    list), "buyer" (bool: among the top `limit` of all; rows stored before this key existed
    hold those only)}. `leads.present` reads them."""
    k = len(names)
    contrib = np.asarray(contributions, dtype=np.float64)[:k]
    out: list[dict[str, Any]] = []
    buyer = safe = 0
    for j in np.argsort(-np.abs(contrib), kind="stable"):
        if (buyer >= limit and safe >= limit) or contrib[j] == 0.0:
            break
        phrase = phrases.get(names[j])
        text = None if phrase is None else phrase.words(float(values[j]))
        if phrase is None or text is None:
            continue
        for_buyer = buyer < limit
        for_preview = phrase.preview and safe < limit
        if not (for_buyer or for_preview):
            continue  # an exact-point feature beyond the buyer's places
        buyer += for_buyer
        safe += for_preview
        out.append(
            {
                "feature": names[j],
                "text": text,
                "direction": "up" if contrib[j] > 0 else "down",
                "preview": phrase.preview,
                "buyer": for_buyer,
            }
        )
    return out
