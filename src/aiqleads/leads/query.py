"""The catalog's page request: one filter, one sort order, a page size and where to resume."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aiqleads.leads.filters import LeadFilter


class SortKey(StrEnum):
    NEWEST = "-published_at"
    OLDEST = "published_at"
    ASKING_PRICE_ASC = "asking_price"
    ASKING_PRICE_DESC = "-asking_price"
    PRICE_ASC = "price"
    PRICE_DESC = "-price"
    SCORE_DESC = "-score"
    SCORE_ASC = "score"


@dataclass(frozen=True, slots=True)
class Order:
    """How a sort key orders rows for one viewer: the column, its direction, whether it has
    NULLs (they always come last), and the public id breaking ties in the same direction."""

    column: str
    descending: bool
    nullable: bool


def order_for(sort: SortKey, *, exact: bool) -> Order:
    """The order of `sort` for a viewer who may (`exact`) or may not see exact scores.

    Agents sort scores by bucket ("A" best), never by the exact score: the order of two leads in
    one bucket would otherwise tell which scores higher.
    """
    name = sort.value.lstrip("-")
    descending = sort.value.startswith("-")
    if name == "score" and not exact:
        return Order("score_bucket", not descending, True)  # "A" < "B": best first ascending
    column = {
        "published_at": "published_at",
        "asking_price": "asking_price_cents",
        "price": "price_cents",
        "score": "score",
    }[name]
    return Order(column, descending, column in ("asking_price_cents", "score"))


@dataclass(frozen=True, slots=True)
class CatalogQuery:
    filter: LeadFilter
    sort: SortKey = SortKey.NEWEST
    limit: int = 50
