"""What a geo cache key reads from the database: the data versions of the scopes an area
touches, the newest publication an agent's tier window lets through, and the latest hold to
have lapsed. All three come back from one statement: a cache hit costs one round trip."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select

from aiqleads.db.row_reads import RowReader
from aiqleads.geo.key_memo import KeyMemo
from aiqleads.geo.repository.common import leads
from aiqleads.leads.status import OFFERED
from aiqleads.leads.versions import versions
from aiqleads.models.enums import LeadStatus


@dataclass(frozen=True, slots=True)
class KeyInputs:
    """`versions`: scope -> data version (0 for a scope never written); `edge`: see
    `key_inputs`, None without a cutoff or without a lead; `lapsed`: the latest lapsed hold.

    How long the last two hold with the data unchanged: `edge` for every cutoff from `edge`
    (or any, when None) up to `edge_until`, the next publication after the cutoff asked
    (None: none, or no cutoff); `lapsed` for every instant from `lapsed` up to `lapse_until`,
    the next end of a hold after the instant asked (None: no hold ends later)."""

    versions: dict[str, int]
    edge: datetime | None
    lapsed: datetime | None
    edge_until: datetime | None = None
    lapse_until: datetime | None = None

    def holds_at(self, *, cutoff: datetime | None, now: datetime) -> bool:
        """Whether `edge` and `lapsed` are what `key_inputs` would read for `cutoff` and
        `now` with the data unchanged."""
        if self.lapsed is not None and now < self.lapsed:
            return False
        if self.lapse_until is not None and now >= self.lapse_until:
            return False
        if cutoff is None:
            return True
        if self.edge is not None and cutoff < self.edge:
            return False
        return self.edge_until is None or cutoff < self.edge_until


@lru_cache(maxsize=32)
def _statement(n_scopes: int, windowed: bool) -> Select[Any]:
    """The statement for `n_scopes` scopes, with (`windowed`) or without the window's edge;
    values come as parameters, so it is built once per shape (building it cost more than
    running it on a cache hit)."""
    cutoff = bindparam("cutoff", type_=leads.c.published_at.type)
    now = bindparam("now", type_=leads.c.held_until.type)
    version_of = [  # a scope's version is the sum of its shards (leads.versions)
        select(func.sum(versions.c.version)).where(versions.c.scope == bindparam(f"scope_{i}"))
        for i in range(n_scopes)
    ]
    # One max per status: each is a backward step on the (status, published_at) index.
    edges = [
        select(func.max(leads.c.published_at)).where(
            leads.c.status == s.value, leads.c.published_at <= cutoff
        )
        for s in (OFFERED if windowed else ())
    ]
    # And the next one after the cutoff: how long the edge holds (`KeyInputs.edge_until`).
    next_edges = [
        select(func.min(leads.c.published_at)).where(
            leads.c.status == s.value, leads.c.published_at > cutoff
        )
        for s in (OFFERED if windowed else ())
    ]
    held = leads.c.status == LeadStatus.HELD.value
    lapsed = select(func.max(leads.c.held_until)).where(held, leads.c.held_until <= now)
    next_lapse = select(func.min(leads.c.held_until)).where(held, leads.c.held_until > now)
    # Named, so that a row gives them by name too (db.row_reads reads it on the driver).
    return select(
        lapsed.scalar_subquery().label("lapsed"),
        next_lapse.scalar_subquery().label("lapse_until"),
        *(q.scalar_subquery().label(f"version_{i}") for i, q in enumerate(version_of)),
        *(q.scalar_subquery().label(f"edge_{i}") for i, q in enumerate(edges)),
        *(q.scalar_subquery().label(f"edge_until_{i}") for i, q in enumerate(next_edges)),
    )


async def key_inputs(
    rows: RowReader,
    scopes: Sequence[str],
    *,
    cutoff: datetime | None,
    now: datetime,
    memo: KeyMemo | None = None,
) -> KeyInputs:
    """The database's part of a cache key, in one statement, read by `rows` (the app's
    `AppState.rows_by_key`, or a session: `db.row_reads.SessionRows`), or found in `memo`
    (see `geo.key_memo`), where it is kept after a read.

    * each scope's data version (leads.versions, bumped by every lead write);
    * with `cutoff` (an agent's priority window), the newest publication instant at or before
      it among offered leads: with the data unchanged, an agent's visible set is the same for
      every cutoff that gives the same edge, so a key holding it goes stale exactly when a
      lead leaves the window;
    * the latest `held_until` at or before `now` among leads still stored as held: it moves
      exactly when a hold lapses, which changes what readers see without any write.
    """
    ordered = list(scopes)
    if memo is not None:
        kept = memo.get(ordered, cutoff=cutoff, now=now)
        if kept is not None:
            return kept
        token = memo.before_read()
    params: dict[str, Any] = {"now": now} if cutoff is None else {"now": now, "cutoff": cutoff}
    params.update((f"scope_{i}", s) for i, s in enumerate(ordered))
    stmt = _statement(len(ordered), cutoff is not None)
    row = await rows.one(stmt, params)
    n, windowed = len(ordered), (len(row) - 2 - len(ordered)) // 2
    found_versions = row[2 : 2 + n]
    present = [e for e in row[2 + n : 2 + n + windowed] if e is not None]
    later = [e for e in row[2 + n + windowed :] if e is not None]
    found = KeyInputs(
        versions={s: int(v or 0) for s, v in zip(ordered, found_versions, strict=True)},
        edge=max(present) if present else None,
        lapsed=row[0],
        edge_until=min(later) if later else None,
        lapse_until=row[1],
    )
    if memo is not None:
        memo.put(ordered, found, cutoff=cutoff, now=now, token=token)
    return found
