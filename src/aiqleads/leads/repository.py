"""All SQL for the lead catalog. Reads select columns with Core and return rows, not ORM objects:
the catalog is the hottest read path."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, false, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.leads.query import BBox, CatalogQuery, SortKey
from aiqleads.models import Lead, Purchase
from aiqleads.models.enums import LeadStatus

leads = Lead.__table__
purchases = Purchase.__table__


def _visibility(
    *, statuses: Sequence[LeadStatus], visible_before: datetime | None, buyer_id: int | None
) -> ColumnElement[bool]:
    """Which leads the caller may see.

    Admins (buyer_id None, visible_before None) see every requested status. An agent sees
    on-market leads once its tier's priority window has passed, and sold leads only when it
    bought them.
    """
    if buyer_id is None:
        return leads.c.status.in_([s.value for s in statuses])
    market = [s.value for s in statuses if s in (LeadStatus.AVAILABLE, LeadStatus.HELD)]
    parts: list[ColumnElement[bool]] = []
    if market:
        cond: ColumnElement[bool] = leads.c.status.in_(market)
        if visible_before is not None:
            cond = and_(cond, leads.c.published_at <= visible_before)
        parts.append(cond)
    if LeadStatus.SOLD in statuses:
        mine = select(purchases.c.lead_id).where(purchases.c.account_id == buyer_id)
        parts.append(and_(leads.c.status == LeadStatus.SOLD.value, leads.c.id.in_(mine)))
    return or_(*parts) if parts else false()


# Below this span (about 1 km) a bounding box is selective enough that SQLite should start from
# the latitude index; above it, walking the sort order and filtering finds a page sooner.
_SQLITE_SMALL_BBOX_DEGREES = 0.01


def _range_column(name: str, sort: SortKey, dialect: str) -> ColumnElement[Any]:
    """A column for a range filter. SQLite's planner, lacking histograms, takes any indexed range
    over the index of the sort order and then sorts every match (seconds at 1M leads); unary
    plus keeps the range column's index out of its plan. PostgreSQL weighs both by cost."""
    if dialect == "sqlite" and name != sort.column:
        return literal_column(f"+leads.{name}", type_=leads.c[name].type)
    return leads.c[name]


def _bbox_condition(bbox: BBox, sort: SortKey, dialect: str) -> list[ColumnElement[bool]]:
    if dialect == "postgresql":
        # The PostGIS point: the covering index of migration 0004 holds it, and PostGIS keeps
        # statistics for it, so the planner chooses well between walking the sort order and
        # the GiST index.
        envelope = func.ST_MakeEnvelope(
            bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat, 4326
        )
        return [literal_column("leads.geom").op("&&")(envelope)]
    small = bbox.max_lat - bbox.min_lat <= _SQLITE_SMALL_BBOX_DEGREES
    lat = leads.c.latitude if small else _range_column("latitude", sort, dialect)
    lon = leads.c.longitude if small else _range_column("longitude", sort, dialect)
    return [lat.between(bbox.min_lat, bbox.max_lat), lon.between(bbox.min_lon, bbox.max_lon)]


def _filters(q: CatalogQuery, dialect: str) -> list[ColumnElement[bool]]:
    def ranged(name: str) -> ColumnElement[Any]:
        return _range_column(name, q.sort, dialect)

    conds: list[ColumnElement[bool]] = []
    if q.bbox is not None:
        conds += _bbox_condition(q.bbox, q.sort, dialect)
    if q.zips:
        conds.append(leads.c.zip_code.in_(q.zips))
    if q.city:
        conds.append(leads.c.city == q.city)
    if q.kinds:
        conds.append(leads.c.kind.in_([k.value for k in q.kinds]))
    if q.price_min_cents is not None:
        conds.append(ranged("asking_price_cents") >= q.price_min_cents)
    if q.price_max_cents is not None:
        conds.append(ranged("asking_price_cents") <= q.price_max_cents)
    if q.beds_min is not None:
        conds.append(ranged("bedrooms") >= q.beds_min)
    if q.baths_min is not None:
        conds.append(ranged("bathrooms") >= q.baths_min)
    if q.listed_since is not None:
        conds.append(ranged("listed_at") >= q.listed_since)
    return conds


def _after_cursor(sort: SortKey, value: Any, last_id: int) -> ColumnElement[bool]:
    """Rows strictly after (value, id) in the order `sort` (NULLs of nullable keys come last)."""
    col = leads.c[sort.column]
    if value is None:  # already in the NULL tail
        tail_id = leads.c.id < last_id if sort.descending else leads.c.id > last_id
        return and_(col.is_(None), tail_id)
    if sort.descending:
        after = or_(col < value, and_(col == value, leads.c.id < last_id))
    else:
        after = or_(col > value, and_(col == value, leads.c.id > last_id))
    return or_(after, col.is_(None)) if sort.nullable else after


def _order(sort: SortKey) -> list[Any]:
    col = leads.c[sort.column]
    key = col.desc() if sort.descending else col.asc()
    if sort.nullable:
        key = key.nulls_last()
    return [key, leads.c.id.desc() if sort.descending else leads.c.id.asc()]


async def search(
    session: AsyncSession,
    q: CatalogQuery,
    *,
    statuses: Sequence[LeadStatus],
    visible_before: datetime | None,
    buyer_id: int | None,
    cursor: tuple[Any, int] | None,
) -> Sequence[Row[Any]]:
    """One page plus one row, so the caller knows whether there is a next page."""
    conds = [_visibility(statuses=statuses, visible_before=visible_before, buyer_id=buyer_id)]
    conds += _filters(q, session.get_bind().dialect.name)
    if cursor is not None:
        conds.append(_after_cursor(q.sort, *cursor))
    order = _order(q.sort)
    if session.get_bind().dialect.name == "postgresql":
        # Find the page's ids first (an index-only scan when the filters are covered, see
        # migration 0004), then read just those rows.
        page = select(leads.c.id).where(*conds).order_by(*order).limit(q.limit + 1)
        stmt = select(leads).where(leads.c.id.in_(page.scalar_subquery())).order_by(*order)
    else:
        stmt = select(leads).where(*conds).order_by(*order).limit(q.limit + 1)
    return (await session.execute(stmt)).all()


async def by_public_id(session: AsyncSession, public_id: uuid.UUID) -> Row[Any] | None:
    return (await session.execute(select(leads).where(leads.c.public_id == public_id))).first()


async def prices_paid(
    session: AsyncSession, lead_ids: Sequence[int], account_id: int
) -> dict[int, tuple[int, str]]:
    """What `account_id` paid for those of `lead_ids` it bought: lead id → (cents, currency)."""
    if not lead_ids:
        return {}
    rows = await session.execute(
        select(purchases.c.lead_id, purchases.c.price_cents, purchases.c.currency).where(
            purchases.c.account_id == account_id, purchases.c.lead_id.in_(lead_ids)
        )
    )
    return {r.lead_id: (r.price_cents, r.currency) for r in rows}


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(leads)) or 0)
