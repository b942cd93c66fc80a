"""All SQL of the lead catalog. Reads select columns with Core and return rows, not ORM objects:
the catalog is the hottest read path. Which leads and where is `leads.visibility`'s."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.db.row_reads import RowReader
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.query import CatalogQuery, Order
from aiqleads.leads.visibility import Viewer, leads, purchases, visible_leads
from aiqleads.models.enums import LeadStatus, Tier


def _after(order: Order, value: Any, last_public_id: Any) -> ColumnElement[bool]:
    """Rows strictly after (value, public id) in `order` (NULLs of nullable keys come last)."""
    col, tie = leads.c[order.column], leads.c.public_id
    if value is None:  # already in the NULL tail
        tail = tie < last_public_id if order.descending else tie > last_public_id
        return and_(col.is_(None), tail)
    if order.descending:
        after = or_(col < value, and_(col == value, tie < last_public_id))
    else:
        after = or_(col > value, and_(col == value, tie > last_public_id))
    return or_(after, col.is_(None)) if order.nullable else after


def _order_by(order: Order, col: Any = None, tie: Any = None) -> list[Any]:
    """ORDER BY terms for `order`, on the leads table or on the given key and tie columns."""
    col = leads.c[order.column] if col is None else col
    tie = leads.c.public_id if tie is None else tie
    key = col.desc() if order.descending else col.asc()
    if order.nullable:
        key = key.nulls_last()
    return [key, tie.desc() if order.descending else tie.asc()]


def stored_statuses(statuses: Sequence[LeadStatus]) -> list[str]:
    """The stored statuses whose rows may read as one of `statuses`: a hold past its end is
    stored `held` and read `available` (`visibility.effective_status`)."""
    stored = {s.value for s in statuses}
    if LeadStatus.AVAILABLE in statuses:
        stored.add(LeadStatus.HELD.value)
    return sorted(stored)


def _page_per_status(
    viewer: Viewer,
    q: CatalogQuery,
    order: Order,
    statuses: Sequence[LeadStatus],
    after: tuple[Any, Any] | None,
    dialect: str,
) -> Any:
    """The condition that picks the page (plus one row), found one status at a time and
    merged: the lead is among the page's public ids, on SQLite among its row ids (the sort
    order's index holds them: each row is then read by its key, not through the public id's
    index).

    For a search over several stored statuses (an admin's default is all of them; an agent's
    available and held, and lapsed holds read as available), where `status IN (...)` or the
    lapsed-hold test leaves no index in the order asked: PostgreSQL then reads the whole
    status index (0.1 s at 100k leads, 0.7-2 s at 1M), and SQLite, which costs every
    status-first index alike, keeps whichever was created last and, in any other order, reads
    and sorts every row (0.25-1 s at 100k). With `status = ?` each branch walks its order's
    index and stops after a page (a few ms). The union of the branches is the same set:
    visibility is a union over statuses.
    """
    # Which rows count is the visibility rule's, on the whole set asked (a lapsed hold is
    # available); each branch adds its stored status (an equality its index serves).
    conds = visible_leads(
        viewer, q.filter, statuses, dialect=dialect, order_column=order.column, per_status=True
    )
    if after is not None:
        conds.append(_after(order, *after))
    ref = leads.c.id if dialect == "sqlite" else leads.c.public_id
    key, tie, order_by = (
        leads.c[order.column].label("k"),
        leads.c.public_id.label("tie"),
        _order_by(order),
    )
    branches = [
        select(
            select(key, tie, ref.label("ref"))
            .where(leads.c.status == stored, *conds)
            .order_by(*order_by)
            .limit(q.limit + 1)
            .subquery()
        )
        for stored in stored_statuses(statuses)
    ]
    merged = union_all(*branches).subquery()
    page = (
        select(merged.c.ref)
        .order_by(*_order_by(order, merged.c.k, merged.c.tie))
        .limit(q.limit + 1)
        .scalar_subquery()
    )
    return ref.in_(page)


# Values bound by name at each execution of a page statement kept per shape (`_Shape`).
NOW, BEFORE, ACCOUNT, AFTER_VALUE, AFTER_ID = "p_now", "p_before", "p_account", "p_after", "p_tie"


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a catalog page's statement is built from, but for the values bound at each
    execution (the time, the viewer's priority window and account, the cursor's position):
    the filter's own values are part of the shape (a statement per distinct filter, kept)."""

    dialect: str
    is_admin: bool
    windowed: bool  # the viewer has a priority window
    query: CatalogQuery
    order: Order
    statuses: tuple[LeadStatus, ...]
    columns: tuple[str, ...] | None
    resume: Literal["start", "value", "null"]  # no cursor; after a value; in the NULL tail


# A catalog page's statement is kept per shape: building and hashing the union of a branch per
# status cost more than PostgreSQL's running it (0.6 ms of the default search's 2.8 at 100k
# leads, with its cache key; kept, the search takes 1.1-1.3 ms), and most requests repeat a few
# shapes (each viewer class's first page by each sort, the next pages of a search). A kept
# statement holds about 26 KiB: 128 of them, 3.4 MB per process. A shape that does not repeat
# (a map box's search) costs what building it costs.
@lru_cache(maxsize=128)
def _page_statement(shape: _Shape) -> Select[Any]:
    # Tier and discount are not part of any condition (only of the price shown).
    viewer = Viewer(
        cast(int, bindparam(ACCOUNT, type_=purchases.c.account_id.type)),
        shape.is_admin,
        Tier.BASIC,
        cast(datetime, bindparam(BEFORE, type_=leads.c.published_at.type))
        if shape.windowed
        else None,
        0,
        cast(datetime, bindparam(NOW, type_=leads.c.held_until.type)),
    )
    order, q, dialect = shape.order, shape.query, shape.dialect
    tie = bindparam(AFTER_ID, type_=leads.c.public_id.type)
    after: tuple[Any, Any] | None = {
        "start": None,
        "value": (bindparam(AFTER_VALUE, type_=leads.c[order.column].type), tie),
        "null": (None, tie),
    }[shape.resume]
    order_by = _order_by(order)
    columns = shape.columns
    selected = select(leads) if columns is None else select(*(leads.c[c] for c in columns))
    f = q.filter
    # A search by ZIP or city keeps the single query: its own index finds the page sooner than
    # walking each status in order. So does a box on SQLite, whose few leads one scan reads. On
    # PostgreSQL a box goes by status too: each branch's plan then chooses between the GiST
    # index and walking the sort order's covering index, where with `status IN (...)` only
    # the GiST scan was left, reading and sorting every lead in the box (75k of 1M in a
    # 4 km box of the benchmark's Seattle: 440 ms, against 0.7 ms walking the order).
    place = f.zips or f.city is not None or (f.area.bbox is not None and dialect == "sqlite")
    if len(stored_statuses(shape.statuses)) > 1 and not place:
        page = _page_per_status(viewer, q, order, shape.statuses, after, dialect)
        return selected.where(page).order_by(*order_by)
    conds = visible_leads(viewer, f, shape.statuses, dialect=dialect, order_column=order.column)
    if after is not None:
        conds.append(_after(order, *after))
    if dialect == "postgresql":
        # Find the page's public ids first, then read just those rows. The public id, not the
        # row id: it ends every sort-order index (migration 0006), so the page is found by an
        # index-only scan when the filters are covered; the row id is in none of them, and
        # selecting it reads the table (2.5x slower for an admin's search at 100k leads).
        ids = select(leads.c.public_id).where(*conds).order_by(*order_by).limit(q.limit + 1)
        return selected.where(leads.c.public_id.in_(ids.scalar_subquery())).order_by(*order_by)
    return selected.where(*conds).order_by(*order_by).limit(q.limit + 1)


async def search(
    session: AsyncSession,
    viewer: Viewer,
    q: CatalogQuery,
    *,
    order: Order,
    statuses: Sequence[LeadStatus],
    after: tuple[Any, uuid.UUID] | None,
    columns: Sequence[str] | None = None,
) -> Sequence[Row[Any]]:
    """One page plus one row, so the caller knows whether there is a next page: rows of the
    named `columns` (None: every column). `after`: the (sort value, public id) of the last row
    of the page before."""
    resume: Literal["start", "value", "null"] = (
        "start" if after is None else "null" if after[0] is None else "value"
    )
    shape = _Shape(
        dialect=session.get_bind().dialect.name,
        is_admin=viewer.is_admin,
        windowed=viewer.visible_before is not None,
        query=q,
        order=order,
        statuses=tuple(statuses),
        columns=None if columns is None else tuple(columns),
        resume=resume,
    )
    params = {
        NOW: viewer.now,
        BEFORE: viewer.visible_before,
        ACCOUNT: viewer.account_id,
        AFTER_VALUE: after[0] if after else None,
        AFTER_ID: after[1] if after else None,
    }
    rows: Sequence[Row[Any]] = (await session.execute(_page_statement(shape), params)).all()
    return rows


async def by_ids(session: AsyncSession, lead_ids: Sequence[int]) -> dict[int, Row[Any]]:
    """Whole rows of `lead_ids`, by lead id (unknown ids are left out)."""
    if not lead_ids:
        return {}
    rows = await session.execute(select(leads).where(leads.c.id.in_(list(lead_ids))))
    return {r.id: r for r in rows}


async def by_public_id(session: AsyncSession, public_id: uuid.UUID) -> Row[Any] | None:
    return (await session.execute(select(leads).where(leads.c.public_id == public_id))).first()


# The lead's public id, bound at each execution of the kept preview statement (with ACCOUNT,
# the reader, as in a page statement).
LEAD = "p_lead"


@lru_cache(maxsize=8)
def _preview_statement(columns: tuple[str, ...]) -> Select[Any]:
    """The preview statement for `columns`, built once: the lead and the account are bound at
    each execution (building a 30-column select with its join, and hashing it for SQLAlchemy's
    compiled cache, took more of a preview's CPU than running it)."""
    paid_by_buyer = and_(
        purchases.c.lead_id == leads.c.id,
        purchases.c.account_id == bindparam(ACCOUNT, type_=purchases.c.account_id.type),
    )
    return (
        select(
            *(leads.c[c] for c in columns),
            purchases.c.price_cents.label("paid_cents"),
            purchases.c.currency.label("paid_currency"),
        )
        .select_from(leads.outerjoin(purchases, paid_by_buyer))
        .where(leads.c.public_id == bindparam(LEAD, type_=leads.c.public_id.type))
    )


async def preview_by_public_id(
    rows: RowReader, public_id: uuid.UUID, account_id: int, columns: Sequence[str]
) -> Any | None:
    """The named `columns` of one lead, with what `account_id` paid for it (`paid_cents`,
    `paid_currency`: NULL unless it bought the lead), in one statement read by `rows` (a
    request's `DriverRows`, or `SessionRows`); None when no lead has that id."""
    stmt = _preview_statement(tuple(columns))
    return await rows.first(stmt, {LEAD: public_id, ACCOUNT: account_id})


async def prices_paid(
    session: AsyncSession, lead_ids: Sequence[int], account_id: int
) -> dict[int, tuple[int, str]]:
    """What `account_id` paid for those of `lead_ids` it bought: lead id → (cents, currency)."""
    paid, _ = await purchases_among(session, lead_ids, account_id)
    return paid


async def purchases_among(
    session: AsyncSession, lead_ids: Sequence[int], account_id: int
) -> tuple[dict[int, tuple[int, str]], bool]:
    """In one statement: what `account_id` paid for those of `lead_ids` it bought (lead id →
    (cents, currency)), and whether any account bought any of them (a page none of whose
    leads was ever bought reads the same for every agent of a tier: it may be shared)."""
    if not lead_ids:
        return {}, False
    rows = (
        await session.execute(
            select(
                purchases.c.lead_id,
                purchases.c.account_id,
                purchases.c.price_cents,
                purchases.c.currency,
            ).where(purchases.c.lead_id.in_(list(lead_ids)))
        )
    ).all()
    paid = {r.lead_id: (r.price_cents, r.currency) for r in rows if r.account_id == account_id}
    return paid, bool(rows)


async def public_ids(session: AsyncSession, lead_ids: Sequence[int]) -> dict[int, uuid.UUID]:
    """Lead id → public id, for answers that name leads other domains hold by row id."""
    if not lead_ids:
        return {}
    rows = await session.execute(
        select(leads.c.id, leads.c.public_id).where(leads.c.id.in_(list(lead_ids)))
    )
    return {r.id: r.public_id for r in rows}


async def visible_among(
    session: AsyncSession,
    viewer: Viewer,
    public_ids: Sequence[uuid.UUID],
    filt: LeadFilter,
    *,
    statuses: Sequence[LeadStatus],
) -> list[tuple[uuid.UUID, Any]]:
    """(public id, published_at) of those of `public_ids` the viewer may see under `filt`
    with `statuses` — by the one visibility rule, so with the viewer's priority window."""
    if not public_ids:
        return []
    dialect = session.get_bind().dialect.name
    conds = visible_leads(viewer, filt, statuses, dialect=dialect)
    stmt = select(leads.c.public_id, leads.c.published_at).where(
        leads.c.public_id.in_(list(public_ids)), *conds
    )
    return [(r.public_id, r.published_at) for r in await session.execute(stmt)]


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(leads)) or 0)


async def places(
    session: AsyncSession, lead_ids: Sequence[int]
) -> dict[int, tuple[str | None, str | None]]:
    """(metro, ZIP) of each lead: where its score is ranked and its market priced."""
    out: dict[int, tuple[str | None, str | None]] = {}
    ids = list(lead_ids)
    for start in range(0, len(ids), 5000):
        rows = await session.execute(
            select(leads.c.id, leads.c.metro, leads.c.zip_code).where(
                leads.c.id.in_(ids[start : start + 5000])
            )
        )
        out.update({int(r.id): (r.metro, r.zip_code) for r in rows})
    return out
