"""Interactions: who did what to which item, when, as equal-length numpy arrays.

A user is an agent account (or a reviewer, or a shopping session, in the public data sets); an
item is a lead (a listing, a product). Kinds are the event log's actions that say something about
an agent's taste, coded as small integers (`Kind`); the log's other actions (release, extend,
expire) are bookkeeping of holds and are left out by `from_events`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aiqleads.kit.clock import as_utc
from aiqleads.models.enums import EventKind


class Kind(IntEnum):
    """The code of each kind of interaction in `Interactions.kind`."""

    VIEW = 0
    HOLD = 1
    PURCHASE = 2
    RETURN = 3


# The event log's kinds that are interactions; the others are skipped by `from_events`.
EVENT_KINDS: dict[str, Kind] = {
    EventKind.VIEW.value: Kind.VIEW,
    EventKind.HOLD.value: Kind.HOLD,
    EventKind.PURCHASE.value: Kind.PURCHASE,
    EventKind.RETURN.value: Kind.RETURN,
}


@dataclass(frozen=True, slots=True, eq=False)
class Interactions:
    """n interactions: `user` (n,) int64, `item` (n,) int64, `kind` (n,) int8 (a `Kind`: 0 view,
    1 hold, 2 purchase, 3 return) and `at` (n,) float64 epoch seconds. Row order matters only
    where a split breaks ties of `at` (the later row counts as later).

    The arrays are converted to those dtypes on construction; ValueError when they are not
    one-dimensional, differ in length, hold an unknown kind or a non-finite time, or when a
    conversion would change a value (a float id, say)."""

    user: NDArray[np.int64]
    item: NDArray[np.int64]
    kind: NDArray[np.int8]
    at: NDArray[np.float64]

    def __post_init__(self) -> None:
        user = _exact(self.user, np.int64, "user")
        item = _exact(self.item, np.int64, "item")
        kind = _exact(self.kind, np.int8, "kind")
        at = np.asarray(self.at, dtype=np.float64)
        if at.ndim != 1:
            raise ValueError("at must be a one-dimensional array")
        lengths = {len(user), len(item), len(kind), len(at)}
        if len(lengths) != 1:
            raise ValueError(
                f"user, item, kind and at must have one length, not "
                f"{len(user)}, {len(item)}, {len(kind)}, {len(at)}"
            )
        if kind.size and (kind.min() < min(Kind) or kind.max() > max(Kind)):
            raise ValueError(
                f"kind must be one of {[int(k) for k in Kind]} ({', '.join(Kind._member_names_)})"
            )
        if not np.isfinite(at).all():
            raise ValueError("at must be finite epoch seconds")
        object.__setattr__(self, "user", user)
        object.__setattr__(self, "item", item)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "at", at)

    @classmethod
    def empty(cls) -> Interactions:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int8), np.empty(0))

    @classmethod
    def from_events(
        cls, rows: Iterable[tuple[int, int, str | int, datetime | float]]
    ) -> Interactions:
        """From (user, item, kind, at) rows, in the order given: `kind` an event log kind
        ("view", "hold", "purchase", "return"; "release", "extend" and "expire" are skipped) or a
        `Kind` code; `at` a datetime (naive ones are UTC, as SQLite returns them) or epoch
        seconds. ValueError naming the row for an unknown kind."""
        users: list[int] = []
        items: list[int] = []
        kinds: list[int] = []
        ats: list[float] = []
        for number, (user, item, kind, at) in enumerate(rows):
            code = _kind_code(kind, number)
            if code is None:
                continue
            users.append(user)
            items.append(item)
            kinds.append(code)
            ats.append(as_utc(at).timestamp() if isinstance(at, datetime) else float(at))
        return cls(
            np.array(users, dtype=np.int64),
            np.array(items, dtype=np.int64),
            np.array(kinds, dtype=np.int8),
            np.array(ats, dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.user)

    def select(self, mask: NDArray[Any]) -> Interactions:
        """The rows where the boolean `mask` (n,) is true, or at the integer positions `mask`,
        in that order."""
        return Interactions(self.user[mask], self.item[mask], self.kind[mask], self.at[mask])

    def users(self) -> NDArray[np.int64]:
        """The distinct users, ascending."""
        return np.unique(self.user)

    def items(self) -> NDArray[np.int64]:
        """The distinct items, ascending."""
        return np.unique(self.item)

    def items_by_user(self, kinds: Iterable[int] | None = None) -> dict[int, set[int]]:
        """{user: the set of items they interacted with}, counting only rows of `kinds` when
        given (users without such a row are absent)."""
        rows = self if kinds is None else self.select(np.isin(self.kind, list(kinds)))
        out: dict[int, set[int]] = {}
        for user, item in zip(rows.user.tolist(), rows.item.tolist(), strict=True):
            out.setdefault(user, set()).add(item)
        return out


def _exact(values: Any, dtype: type[np.generic], name: str) -> Any:
    raw = np.asarray(values)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional array")
    if raw.size == 0:
        return raw.astype(dtype)
    if raw.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integers, not {raw.dtype}")
    converted = raw.astype(dtype)
    if not np.array_equal(converted, raw):
        raise ValueError(f"{name} has values outside {np.dtype(dtype).name}")
    return converted


def _kind_code(kind: str | int, number: int) -> int | None:
    if isinstance(kind, str):
        if kind in EVENT_KINDS:
            return int(EVENT_KINDS[kind])
        if kind in {e.value for e in EventKind}:
            return None  # a hold's bookkeeping (release, extend, expire), not a taste
        raise ValueError(f"row {number}: unknown event kind {kind!r}")
    if int(kind) in {int(k) for k in Kind}:
        return int(kind)
    raise ValueError(f"row {number}: unknown kind code {kind!r}")
