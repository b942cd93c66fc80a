"""All SQL of the cart: the account's lock row, hold records, and the reads the cart needs.

Who holds a lead now is the lead's own `held_by` / `held_until`, written only by
`leads.writes`; this module writes `holds` and `cart_locks`, its own tables.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Insert,
    Row,
    Table,
    Update,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from aiqleads.db import bulk
from aiqleads.db.row_reads import RowReader
from aiqleads.leads.visibility import leads
from aiqleads.models import CartLock, Hold, HoldNotice
from aiqleads.models.enums import HoldEnd, LeadStatus

holds = cast(Table, Hold.__table__)
locks = cast(Table, CartLock.__table__)
Bound = ColumnElement[Any]  # a value bound at execution (a named bindparam)


# The names of the values bound at execution into the statements below that are built once
# (`functools.cache`): building and hashing them cost more of a hold request's CPU than
# running them. Prefixed so that no name is a column's.
_ACCOUNT, _NOW, _PUBLIC_IDS = "p_account", "p_now", "p_public_ids"


def _bound(account_id: int, now: datetime, public_ids: Sequence[uuid.UUID] = ()) -> dict[str, Any]:
    return {_ACCOUNT: account_id, _NOW: now, _PUBLIC_IDS: list(public_ids)}


@functools.cache
def _locking(dialect: str) -> Insert:
    """The upsert of the account's lock row, its values bound (_ACCOUNT, _NOW)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = bindparam(_NOW, type_=locks.c.locked_at.type)
    stmt = insert(locks).values(account_id=bindparam(_ACCOUNT), locked_at=now)
    return stmt.on_conflict_do_update(index_elements=["account_id"], set_={"locked_at": now})


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def lock_cart(session: AsyncSession, account_id: int, *, now: datetime) -> None:
    """Write the account's lock row first thing: every later read of this transaction sees the
    cart as no concurrent change of the same account can alter it."""
    await session.execute(_locking(_dialect(session)), _bound(account_id, now))


async def lock_cart_for(
    session: AsyncSession, account_id: int, public_id: uuid.UUID, *, now: datetime
) -> int | None:
    """`lock_cart`, and the row id of the lead `public_id` (None: no such lead): on PostgreSQL
    one statement, the lock a data-modifying CTE of the read. The read's snapshot may predate a
    wait for the lock; a lead's id never changes, so that cannot matter, but anything that can
    change must be read after this returns."""
    bound = _bound(account_id, now, [public_id])
    if not bulk.is_postgres(session):
        await lock_cart(session, account_id, now=now)
        return await session.scalar(_finding(), bound)
    return await session.scalar(_locked_finding(), bound)


@functools.cache
def _finding() -> Select[int]:
    return select(leads.c.id).where(leads.c.public_id.in_(bindparam(_PUBLIC_IDS, expanding=True)))


@functools.cache
def _locked_finding() -> Select[int]:
    return _finding().add_cte(_locking("postgresql").cte("locked"))


@dataclass(frozen=True, slots=True)
class LeadState:
    id: int
    public_id: uuid.UUID
    status: str
    held_by: int | None
    held_until: datetime | None
    published_at: datetime
    price_cents: int
    price_currency: str


async def lead_states(
    session: AsyncSession, public_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, LeadState]:
    cols = (
        leads.c.id,
        leads.c.public_id,
        leads.c.status,
        leads.c.held_by,
        leads.c.held_until,
        leads.c.published_at,
        leads.c.price_cents,
        leads.c.price_currency,
    )
    rows = await session.execute(select(*cols).where(leads.c.public_id.in_(list(public_ids))))
    return {r.public_id: LeadState(*r) for r in rows}


async def hold_view(
    session: AsyncSession, account_id: int, public_ids: Sequence[uuid.UUID], *, now: datetime
) -> tuple[dict[uuid.UUID, LeadState], int]:
    """The leads' states and the account's live hold count, in one round trip (the count is
    an uncorrelated subquery, computed once). Unknown ids are absent; with none known the count
    is not read and 0 is returned (no hold will be tried)."""
    states: dict[uuid.UUID, LeadState] = {}
    count = 0
    for r in await session.execute(_viewing(), _bound(account_id, now, public_ids)):
        states[r.public_id] = LeadState(*r[:_STATE_COLUMNS])
        count = int(r.live)
    return states, count


_STATE_COLUMNS = 8  # the columns of LeadState, first in `_viewing`'s rows


@functools.cache
def _viewing() -> Select[Any]:
    """The leads _PUBLIC_IDS' states and the live hold count of _ACCOUNT at _NOW."""
    now = bindparam(_NOW, type_=holds.c.held_until.type)
    live = select(func.count()).select_from(_joined()).where(*_live(bindparam(_ACCOUNT), now))
    cols = (
        leads.c.id,
        leads.c.public_id,
        leads.c.status,
        leads.c.held_by,
        leads.c.held_until,
        leads.c.published_at,
        leads.c.price_cents,
        leads.c.price_currency,
    )
    return select(*cols, live.scalar_subquery().label("live")).where(
        leads.c.public_id.in_(bindparam(_PUBLIC_IDS, expanding=True))
    )


async def lock_and_view(
    session: AsyncSession, account_id: int, public_ids: Sequence[uuid.UUID], *, now: datetime
) -> tuple[dict[uuid.UUID, LeadState], int]:
    """`lock_cart`, then `hold_view`: on PostgreSQL in one round trip when it can be.

    There the lock is a data-modifying CTE of the view, and all of one statement reads one
    snapshot, taken before the lock is waited for: a change of the cart committed meanwhile by
    a request of the same account would be missing from the view (a cart limit passed). So the
    lock row is written only if its newest version is the one the snapshot sees (its `xmin`,
    the transaction that wrote it, unchanged; every cart change writes the row, so none
    committed in between); else the row is still locked (ON CONFLICT DO UPDATE locks the rows
    its WHERE refuses) but not written, and the view is read again by a statement of its own,
    after the lock (two more round trips, only when two requests of one account meet)."""
    if not bulk.is_postgres(session):
        await lock_cart(session, account_id, now=now)
        return await hold_view(session, account_id, public_ids, now=now)
    rows = (await session.execute(_locked_viewing(), _bound(account_id, now, public_ids))).all()
    if rows and not all(r.written for r in rows):
        await lock_cart(session, account_id, now=now)  # a new version: see the docstring
        return await hold_view(session, account_id, public_ids, now=now)
    if not rows:
        # No lead known: nothing will be held, the lock is taken (written or not) all the same.
        return {}, 0
    states = {r.public_id: LeadState(*r[:_STATE_COLUMNS]) for r in rows}
    return states, int(rows[0].live)


@functools.cache
def _locked_viewing() -> Select[Any]:
    """`_viewing` with the lock of `lock_and_view` as a data-modifying CTE, and whether it
    wrote the lock row (column `written`)."""
    # An alias: the subquery reads the snapshot's row, not (correlated) the row being locked.
    seen = locks.alias("seen")
    seen_version = (
        select(literal_column("seen.xmin")).where(seen.c.account_id == bindparam(_ACCOUNT))
    ).scalar_subquery()
    now = bindparam(_NOW, type_=locks.c.locked_at.type)
    locking = (
        postgresql.insert(locks)
        .values(account_id=bindparam(_ACCOUNT), locked_at=now)
        .on_conflict_do_update(
            index_elements=["account_id"],
            set_={"locked_at": now},
            where=literal_column(f"{locks.name}.xmin") == seen_version,
        )
        .returning(locks.c.account_id)
        .cte("locked")
    )
    written = select(locking.c.account_id).scalar_subquery().is_not(None).label("written")
    return _viewing().add_columns(written).add_cte(locking)


def _live(account_id: int | Bound, now: datetime | Bound) -> list[Any]:
    """Conditions for the account's live holds: its own record open, and the lead still held by
    it until after `now`."""
    return [
        holds.c.account_id == account_id,
        holds.c.ended_at.is_(None),
        holds.c.held_until > now,
        leads.c.held_by == account_id,
        leads.c.status == LeadStatus.HELD.value,
        leads.c.held_until > now,
    ]


def _joined() -> Any:
    return holds.join(leads, and_(leads.c.id == holds.c.lead_id))


@functools.cache
def _live_holds() -> Select[Any]:
    """`live_holds`' statement, its values bound (_ACCOUNT, _NOW): a cart is read on every
    page an agent opens."""
    account = bindparam(_ACCOUNT, type_=holds.c.account_id.type)
    now = bindparam(_NOW, type_=holds.c.held_until.type)
    return (
        select(
            leads,
            holds.c.id.label("hold_id"),
            holds.c.price_cents.label("hold_price_cents"),
            holds.c.currency.label("hold_currency"),
            holds.c.extensions_used,
            holds.c.taken_at,
        )
        .select_from(_joined())
        .where(*_live(account, now))
        .order_by(holds.c.held_until, holds.c.id)
    )


async def live_holds(rows: RowReader, account_id: int, *, now: datetime) -> Sequence[Any]:
    """The account's live holds with their leads' rows, soonest to end first, read by `rows`
    (`SessionRows` in a transaction; a cart view's `DriverRows`)."""
    return await rows.all(_live_holds(), _bound(account_id, now))


async def live_hold_prices(
    session: AsyncSession, account_id: int, *, now: datetime
) -> Sequence[Row[Any, Any, Any, Any, Any]]:
    """The account's live holds as (id: the lead's row id, hold_id, hold_taken_at,
    hold_price_cents, hold_currency), in `live_holds`' order: what an order is made of,
    without the leads' other columns."""
    stmt = (
        select(
            leads.c.id,
            holds.c.id.label("hold_id"),
            holds.c.taken_at.label("hold_taken_at"),
            holds.c.price_cents.label("hold_price_cents"),
            holds.c.currency.label("hold_currency"),
        )
        .select_from(_joined())
        .where(*_live(account_id, now))
        .order_by(holds.c.held_until, holds.c.id)
    )
    return (await session.execute(stmt)).all()


async def live_hold(
    session: AsyncSession, account_id: int, lead_id: int, *, now: datetime
) -> Row[Any, Any, Any] | None:
    stmt = (
        select(holds.c.id, holds.c.extensions_used, holds.c.held_until)
        .select_from(_joined())
        .where(*_live(account_id, now), holds.c.lead_id == lead_id)
    )
    return (await session.execute(stmt)).first()


def add_hold(
    *,
    lead_id: int | Bound,
    account_id: int | Bound,
    price_cents: int | Bound,
    currency: str | Bound,
    now: datetime | Bound,
    until: datetime | Bound,
    guard: ColumnElement[bool] | None = None,
) -> Insert:
    """The INSERT of a new hold record, made only when `guard` holds (see `db.bulk.insert_if`:
    it rides in the statement taking the hold). Each value may be a named `bindparam()`."""
    row = {
        "lead_id": lead_id,
        "account_id": account_id,
        "price_cents": price_cents,
        "currency": currency,
        "taken_at": now,
        "held_until": until,
        "extensions_used": 0,
    }
    return bulk.insert_if(holds, row, guard)


async def extend(session: AsyncSession, hold_id: int, *, until: datetime) -> None:
    await session.execute(
        update(holds)
        .where(holds.c.id == hold_id)
        .values(held_until=until, extensions_used=holds.c.extensions_used + 1)
    )


async def end_holds(
    session: AsyncSession,
    *,
    account_id: int | None = None,
    lead_id: int | None = None,
    lead_ids: Sequence[int] | None = None,
    reason: HoldEnd,
    now: datetime,
) -> list[tuple[int, int]]:
    """Close the open hold records of an account and/or a lead (or any of `lead_ids`);
    returns (lead id, account id)."""
    stmt = ending_holds(
        account_id=account_id, lead_id=lead_id, lead_ids=lead_ids, reason=reason, now=now
    ).returning(holds.c.lead_id, holds.c.account_id)
    return [(r[0], r[1]) for r in await session.execute(stmt)]


def ending_holds(
    *,
    account_id: int | Bound | None = None,
    lead_id: int | Bound | None = None,
    lead_ids: Sequence[int] | None = None,
    reason: HoldEnd,
    now: datetime | Bound,
    guard: ColumnElement[bool] | None = None,
) -> Update:
    """The UPDATE of `end_holds`, results unread (for `db.bulk.execute_together`, or to ride
    in a lead's move, made only when `guard` holds). `account_id`, `lead_id` and `now` may be
    named `bindparam()`s."""
    conds: list[ColumnElement[bool]] = [holds.c.ended_at.is_(None)]
    if guard is not None:
        conds.append(guard)
    if account_id is not None:
        conds.append(holds.c.account_id == account_id)
    if lead_id is not None:
        conds.append(holds.c.lead_id == lead_id)
    if lead_ids is not None:
        conds.append(holds.c.lead_id.in_(list(lead_ids)))
    return update(holds).where(*conds).values(ended_at=now, end_reason=reason.value)


async def end_stale(session: AsyncSession, *, now: datetime) -> list[tuple[int, int, str]]:
    """Close open hold records that no longer hold their lead: ended by time (expired), or the
    lead left the hold otherwise, e.g. its source took it off the market (lost). Returns
    (lead id, account id, reason)."""
    still_held = and_(
        leads.c.id == holds.c.lead_id,
        leads.c.status == LeadStatus.HELD.value,
        leads.c.held_by == holds.c.account_id,
    )
    held = select(leads.c.id).where(still_held).exists()
    out: list[tuple[int, int, str]] = []
    for reason, cond in (
        (HoldEnd.EXPIRED, holds.c.held_until <= now),
        (HoldEnd.LOST, ~held),
    ):
        stmt = (
            update(holds)
            .where(holds.c.ended_at.is_(None), cond)
            .values(ended_at=now, end_reason=reason.value)
            .returning(holds.c.lead_id, holds.c.account_id)
        )
        out += [(r[0], r[1], reason.value) for r in await session.execute(stmt)]
    return out


# --- the hold sweeper (aiqleads.cart.tasks) ------------------------------------------------------

notices = cast(Table, HoldNotice.__table__)


async def active_count(session: AsyncSession, *, now: datetime) -> int:
    """Leads held now, over every account: held, and the hold not yet lapsed."""
    stmt = select(func.count()).where(
        leads.c.status == LeadStatus.HELD.value, leads.c.held_until > now
    )
    return int(await session.scalar(stmt) or 0)


async def public_ids(session: AsyncSession, lead_ids: Sequence[int]) -> dict[int, uuid.UUID]:
    """The public id of each of the leads."""
    if not lead_ids:
        return {}
    rows = await session.execute(
        select(leads.c.id, leads.c.public_id).where(leads.c.id.in_(list(set(lead_ids))))
    )
    return {r.id: r.public_id for r in rows}


@dataclass(frozen=True, slots=True)
class Expiring:
    hold_id: int
    lead_id: int
    account_id: int
    held_until: datetime
    lead_public_id: uuid.UUID


async def claim_expiring(
    session: AsyncSession, *, now: datetime, until: datetime
) -> list[Expiring]:
    """Live holds that end after `now` and by `until` and have had no "expiring" notice for
    this end time; each one returned is recorded as noticed (a conditional insert, so of two
    sweepers racing only one gets a hold). A hold extended later can be noticed again."""
    already = (
        select(notices.c.hold_id)
        .where(notices.c.hold_id == holds.c.id, notices.c.held_until == holds.c.held_until)
        .exists()
    )
    stmt = (
        select(
            holds.c.id,
            holds.c.lead_id,
            holds.c.account_id,
            holds.c.held_until,
            leads.c.public_id,
        )
        .select_from(_joined())
        .where(
            holds.c.ended_at.is_(None),
            holds.c.held_until > now,
            holds.c.held_until <= until,
            leads.c.status == LeadStatus.HELD.value,
            leads.c.held_by == holds.c.account_id,
            leads.c.held_until > now,
            ~already,
        )
        .order_by(holds.c.held_until, holds.c.id)
    )
    found = [Expiring(*r) for r in await session.execute(stmt)]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    claimed: list[Expiring] = []
    for hold in found:
        added = await session.execute(
            insert(notices)
            .values(hold_id=hold.hold_id, held_until=hold.held_until, noticed_at=now)
            .on_conflict_do_nothing()
            .returning(notices.c.hold_id)
        )
        if added.first() is not None:
            claimed.append(hold)
    return claimed
