"""All SQL of the market domain: `market_series` (its one owner: upserts and reads) and the read
query of the leads that market activity is computed from (never a write to `leads`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.leads.visibility import effective_status
from aiqleads.market.indicators import Fact
from aiqleads.market.loaders import SeriesPoint
from aiqleads.models import Lead, MarketSeries

series = cast(Table, MarketSeries.__table__)
leads = cast(Table, Lead.__table__)

# Rows per INSERT … ON CONFLICT statement: well under SQLite's 32,766 bound parameters (6 each).
BATCH = 2000


def _key(p: SeriesPoint) -> tuple[str, str, str, str, date]:
    return (p.source, p.region_kind, p.region, p.measure, p.month)


async def upsert_points(session: AsyncSession, points: Sequence[SeriesPoint]) -> int:
    """Insert or update (by source, region kind, region, measure, month) `points`, in
    statements of at most BATCH rows; a key given twice keeps its last value. Returns the
    number of distinct keys written."""
    latest = {_key(p): p for p in points}
    rows = [
        {
            "source": p.source,
            "region_kind": p.region_kind,
            "region": p.region,
            "measure": p.measure,
            "month": p.month,
            "value": p.value,
        }
        for p in latest.values()
    ]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for start in range(0, len(rows), BATCH):
        stmt = insert(series)
        stmt = stmt.on_conflict_do_update(
            index_elements=["source", "region_kind", "region", "measure", "month"],
            set_={"value": stmt.excluded.value},
        )
        await session.execute(stmt, rows[start : start + BATCH])
    return len(rows)


async def replace_source(
    session: AsyncSession, source: str, region_kind: str, region: str, points: Sequence[SeriesPoint]
) -> int:
    """The series of one source and region, replaced by `points` (a recomputation: months or
    measures no longer computed go). Returns the number of points written."""
    await session.execute(
        delete(series).where(
            series.c.source == source,
            series.c.region_kind == region_kind,
            series.c.region == region,
        )
    )
    return await upsert_points(session, points)


async def points(
    session: AsyncSession,
    regions: Iterable[tuple[str, str]],
    *,
    sources: Sequence[str] | None = None,
    until: date | None = None,
) -> list[SeriesPoint]:
    """Every point of these (region kind, region) pairs, optionally of these sources only and
    up to the month `until` (inclusive), ordered by source, measure and month."""
    pairs = sorted(set(regions))
    if not pairs:
        return []
    conds: list[ColumnElement[bool]] = [
        or_(*(and_(series.c.region_kind == k, series.c.region == r) for k, r in pairs))
    ]
    if sources is not None:
        conds.append(series.c.source.in_(list(sources)))
    if until is not None:
        conds.append(series.c.month <= until)
    rows = await session.execute(
        select(series)
        .where(*conds)
        .order_by(series.c.source, series.c.region_kind, series.c.measure, series.c.month)
    )
    return [
        SeriesPoint(r.source, r.region_kind, r.region, r.measure, r.month, r.value) for r in rows
    ]


async def month_values(
    session: AsyncSession, *, source: str, region_kind: str, region: str, month: date
) -> dict[str, float]:
    """{measure: value} of one source, region and month (an indexed read: the unique key's
    prefix)."""
    rows = await session.execute(
        select(series.c.measure, series.c.value).where(
            series.c.source == source,
            series.c.region_kind == region_kind,
            series.c.region == region,
            series.c.month == month,
        )
    )
    return {str(m): float(v) for m, v in rows}


def month_value_of(
    *, source: str, region_kind: str, region: ColumnElement[Any], measure: str, month: date
) -> ColumnElement[Any]:
    """A scalar subquery: the value of one source, region kind and measure in `month`, for the
    region named by `region` (a column of the outer query), or NULL. For another domain's
    query to read one value alongside its rows, through the unique key."""
    return (
        select(series.c.value)
        .where(
            series.c.source == source,
            series.c.region_kind == region_kind,
            series.c.region == region,
            series.c.measure == measure,
            series.c.month == month,
        )
        .scalar_subquery()
    )


async def delete_source(session: AsyncSession, source: str) -> None:
    """Every point of one source, in every region and month, deleted."""
    await session.execute(delete(series).where(series.c.source == source))


async def count(session: AsyncSession, source: str | None = None) -> int:
    stmt = select(func.count()).select_from(series)
    if source is not None:
        stmt = stmt.where(series.c.source == source)
    return int(await session.scalar(stmt) or 0)


async def lead_facts(
    session: AsyncSession, conditions: Sequence[ColumnElement[bool]], *, now: datetime
) -> list[Fact]:
    """The facts of the leads meeting `conditions` (built on `leads`: a region's, or
    `leads.visibility.market_leads` for an agent), with the effective status at `now`."""
    status = effective_status(leads, now).label("status")
    rows = await session.execute(
        select(
            leads.c.source,
            leads.c.kind,
            status,
            leads.c.listed_at,
            leads.c.asking_price_cents,
            leads.c.price_period,
        ).where(*conditions)
    )
    return [Fact(*r) for r in rows]


def lead_ids(conditions: Sequence[ColumnElement[bool]]) -> Select[Any]:
    """A SELECT of the ids of the leads meeting `conditions` (for the event log's reads)."""
    return select(leads.c.id).where(*conditions)


def region_condition(region_kind: str, region: str) -> ColumnElement[bool]:
    """Leads of a ZIP (`zip_code`) or a metro (`metro`, our slug). Raises ValueError for any
    other kind: the leads know no county, city or nation."""
    if region_kind == "zip":
        return leads.c.zip_code == region
    if region_kind == "metro":
        return leads.c.metro == region
    raise ValueError(f"leads are grouped by zip or metro, not {region_kind!r}")


async def lead_regions(session: AsyncSession) -> list[tuple[str, str]]:
    """Every (region kind, region) the leads cover: their ZIPs and their metros."""
    zips = await session.scalars(
        select(leads.c.zip_code).where(leads.c.zip_code.is_not(None)).distinct()
    )
    metros = await session.scalars(
        select(leads.c.metro).where(leads.c.metro.is_not(None)).distinct()
    )
    found = [("zip", z) for z in zips] + [("metro", m) for m in metros]
    return sorted(found)


def zip_metro(rows: Iterable[Any]) -> str | None:
    """The most common metro of a ZIP's leads (rows of (metro, count)), None when none."""
    best = max(rows, key=lambda r: (r[1], r[0] or ""), default=None)
    return None if best is None else best[0]


async def metro_of_zip(
    session: AsyncSession, zip_code: str, conditions: Sequence[ColumnElement[bool]] = ()
) -> str | None:
    """The metro most of a ZIP's leads (those meeting `conditions`) stand in, or None when the
    ZIP has no such lead with one."""
    rows = await session.execute(
        select(leads.c.metro, func.count())
        .where(leads.c.zip_code == zip_code, leads.c.metro.is_not(None), *conditions)
        .group_by(leads.c.metro)
    )
    return zip_metro(rows.all())
