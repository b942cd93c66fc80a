"""Market context: loading the published series, computing series from the leads, and the
indicators of a ZIP or metro (`market_context`, and its agent-facing cut with the k rule)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.events import repository as events
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.status import AGENT_STATUSES
from aiqleads.leads.visibility import Viewer, market_leads
from aiqleads.market import indicators, repository
from aiqleads.market.indicators import Activity, LeadSeries
from aiqleads.market.loaders import LoadReport, SeriesPoint, read_file
from aiqleads.models.enums import EventKind

LEADS = "leads"
# Stored snapshots of `market_context` (see `store_contexts`): one point per key, and the
# instant each was taken as `AS_OF` (Unix seconds).
CONTEXT = "context"
AS_OF = "as_of_unix"
REGION_KINDS = ("zip", "metro", "county", "city", "national")
# Views, holds and buying agents are counted over the 30 days before "now".
ACTIVITY_DAYS = 30
NATIONAL = ("national", "United States")


@dataclass(frozen=True, slots=True)
class Loaded:
    """A file loaded: what the reader saw (`report`) and how many series values were written."""

    report: LoadReport
    written: int


async def load(
    session: AsyncSession,
    path: Path,
    fmt: str,
    *,
    measure: str | None = None,
    batch: int = repository.BATCH,
) -> Loaded:
    """Stream `path` (format "zillow" or "redfin", see `loaders`) into `market_series` in
    batches of `batch` values; loading a file again updates its values. Raises
    loaders.UnreadableFile for a file of another format, OSError for one that cannot be read."""
    report = LoadReport()
    written = 0
    pending: list[SeriesPoint] = []
    for point in read_file(path, fmt, report, measure):
        pending.append(point)
        if len(pending) >= batch:
            written += await repository.upsert_points(session, pending)
            pending.clear()
    written += await repository.upsert_points(session, pending)
    # Every stored context read the series as they were: none may outlive them.
    await repository.delete_source(session, CONTEXT)
    return Loaded(report, written)


def lead_points(region_kind: str, region: str, series: LeadSeries) -> list[SeriesPoint]:
    """The lead-derived series of a region as `market_series` points (source "leads")."""
    return [
        SeriesPoint(LEADS, region_kind, region, measure, month, cell.value)
        for measure, months in sorted(series.items())
        for month, cell in months.items()
    ]


async def compute(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    """Recompute the lead-derived series of every ZIP and metro the leads cover (source
    "leads", replacing the previous ones), then snapshot their contexts (`store_contexts`).
    Returns {"regions": n, "points": n, "contexts": n}."""
    regions = await repository.lead_regions(session)
    written = 0
    for kind, region in regions:
        cond = [repository.region_condition(kind, region)]
        facts = await repository.lead_facts(session, cond, now=now)
        points = lead_points(kind, region, indicators.monthly_lead_series(facts))
        written += await repository.replace_source(session, LEADS, kind, region, points)
    contexts = await store_contexts(session, now=now)
    return {"regions": len(regions), "points": written, "contexts": contexts}


def _month_of(now: datetime) -> date:
    return now.astimezone(UTC).date().replace(day=1)


async def store_contexts(session: AsyncSession, *, now: datetime) -> int:
    """Snapshot `market_context` of every ZIP and metro the leads cover, for the month of `now`
    (UTC) with its activity as of `now`, into `market_series` (source `CONTEXT`: one point per
    key of `indicators.CONTEXT_KEYS`, and `AS_OF`, `now` in Unix seconds), replacing that
    month's earlier snapshot. `context_snapshot` reads them back; loading a series deletes them
    all. Returns the number of regions."""
    month = _month_of(now)
    regions = await repository.lead_regions(session)
    points: list[SeriesPoint] = []
    for kind, region in regions:
        ctx = await market_context(
            session,
            zip_code=region if kind == "zip" else None,
            metro=region if kind == "metro" else None,
            month=month,
            now=now,
        )
        points += [SeriesPoint(CONTEXT, kind, region, k, month, float(v)) for k, v in ctx.items()]
        points.append(SeriesPoint(CONTEXT, kind, region, AS_OF, month, now.timestamp()))
    await repository.upsert_points(session, points)
    return len(regions)


def snapshot_instant(region_kind: str, region: Any, now: datetime) -> Any:
    """A scalar subquery for another domain's query of leads: the instant (Unix seconds) of
    the stored snapshot of the region named by the column `region` (a ZIP or metro column of
    `leads`) for the month of `now`, or NULL. A snapshot is known by its instant: a caller may
    keep what `context_snapshot_at` read under it."""
    return repository.month_value_of(
        source=CONTEXT, region_kind=region_kind, region=region, measure=AS_OF, month=_month_of(now)
    )


async def context_snapshot_at(
    session: AsyncSession, *, region_kind: str, region: str, now: datetime
) -> tuple[float, dict[str, float]] | None:
    """`context_snapshot` with the instant (Unix seconds) it was taken."""
    found = await repository.month_values(
        session, source=CONTEXT, region_kind=region_kind, region=region, month=_month_of(now)
    )
    taken = found.get(AS_OF)
    if taken is None or taken > now.timestamp():
        return None
    if any(k not in found for k in indicators.CONTEXT_KEYS):
        return None
    return taken, {k: found[k] for k in indicators.CONTEXT_KEYS}


async def context_snapshot(
    session: AsyncSession, *, region_kind: str, region: str, now: datetime
) -> dict[str, float] | None:
    """The stored snapshot (`store_contexts`) of the region's context for the month of `now`,
    when one was taken at or before `now` and holds every key of `indicators.CONTEXT_KEYS`;
    None otherwise (never a snapshot from after `now`: a past instant reads no later data).
    One indexed read."""
    found = await context_snapshot_at(session, region_kind=region_kind, region=region, now=now)
    return None if found is None else found[1]


def _series(points: Iterable[SeriesPoint], source: str, measure: str) -> dict[date, float]:
    return {p.month: p.value for p in points if p.source == source and p.measure == measure}


def _first(
    points: Sequence[SeriesPoint], source: str, measure: str, regions: Sequence[tuple[str, str]]
) -> dict[date, float]:
    """The series of the first region in `regions` that has one."""
    for kind, region in regions:
        found = _series(
            (p for p in points if (p.region_kind, p.region) == (kind, region)), source, measure
        )
        if found:
            return found
    return {}


def _regions(zip_code: str | None, metro: str | None) -> list[tuple[str, str]]:
    out = [("zip", zip_code)] if zip_code else []
    out += [("metro", metro)] if metro else []
    return [*out, NATIONAL]


def month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


async def _activity(session: AsyncSession, conditions: Sequence[Any], *, now: datetime) -> Activity:
    facts = await repository.lead_facts(session, conditions, now=now)
    counts, buyers = await events.activity(
        session,
        repository.lead_ids(conditions),
        since=now - timedelta(days=ACTIVITY_DAYS),
        until=now,
    )
    return Activity(
        facts=facts,
        views=counts.get(EventKind.VIEW.value, 0),
        holds=counts.get(EventKind.HOLD.value, 0),
        buying_agents=buyers,
        now=now,
    )


async def _external(
    session: AsyncSession, regions: Sequence[tuple[str, str]], month: date
) -> tuple[list[SeriesPoint], dict[str, dict[date, float]]]:
    points = await repository.points(session, regions, sources=("zillow", "redfin"), until=month)
    chosen = {
        "zhvi": _first(points, "zillow", "zhvi", regions),
        "zori": _first(points, "zillow", "zori", regions),
        "sale_to_list": _first(points, "redfin", "avg_sale_to_list", regions),
    }
    return points, chosen


async def market_context(
    session: AsyncSession,
    *,
    zip_code: str | None,
    metro: str | None,
    month: date,
    now: datetime | None = None,
) -> dict[str, float]:
    """The indicators of `indicators.CONTEXT_KEYS` for a ZIP (when given) or else a metro, in
    `month`: price trends and volatility from the region's leads (recorded sales, else asking
    prices, else Zillow's ZHVI), activity (inventory, competition, demand, days on market) from
    its leads and their events of the 30 days before `now` (default: the first instant of the
    month after `month`), Zillow and Redfin series of the ZIP, else its metro (given, or the one
    most of the ZIP's leads stand in), else the nation. With neither region: the defaults of
    `indicators.DEFAULTS` but for the national series. Never NaN, never an error for a region
    without data."""
    month = month.replace(day=1)
    as_of = now or month_start(indicators.add_months(month, 1))
    if zip_code and metro is None:
        metro = await repository.metro_of_zip(session, zip_code)
    _, external = await _external(session, _regions(zip_code, metro), month)
    if zip_code:
        activity = await _activity(
            session, [repository.region_condition("zip", zip_code)], now=as_of
        )
    elif metro:
        activity = await _activity(
            session, [repository.region_condition("metro", metro)], now=as_of
        )
    else:
        activity = Activity((), 0, 0, 0, as_of)
    return indicators.context(
        month=month,
        activity=activity,
        zhvi=external["zhvi"],
        zori=external["zori"],
        sale_to_list=external["sale_to_list"],
    )


@dataclass(frozen=True, slots=True)
class RegionMarket:
    """What the operator sees of a region: every stored series point and the context."""

    region_kind: str
    region: str
    month: date
    points: list[SeriesPoint]
    context: dict[str, float]


async def region_market(
    session: AsyncSession, *, region_kind: str, region: str, month: date, now: datetime
) -> RegionMarket:
    """Every stored point of the region (all sources, up to `month`) and its `market_context`
    (for a ZIP or metro; other kinds get the defaults with the national series)."""
    month = month.replace(day=1)
    points = await repository.points(session, [(region_kind, region)], until=month)
    zip_code = region if region_kind == "zip" else None
    metro = region if region_kind == "metro" else None
    as_of = min(now, month_start(indicators.add_months(month, 1)))
    ctx = await market_context(session, zip_code=zip_code, metro=metro, month=month, now=as_of)
    return RegionMarket(region_kind, region, month, points, ctx)


@dataclass(frozen=True, slots=True)
class ZipMarket:
    """What an agent sees of a ZIP's market. `covered`: whether the ZIP's leads the agent may
    count number at least `min_leads`; when not, every lead-derived value is None and no lead
    series is given. External series (Zillow, Redfin) are always given."""

    zip_code: str
    metro: str | None
    month: date
    min_leads: int
    covered: bool
    context: dict[str, float | None]
    external: list[SeriesPoint]
    lead_series: list[SeriesPoint]


async def zip_market(
    session: AsyncSession, viewer: Viewer, *, zip_code: str, month: date, min_leads: int
) -> ZipMarket:
    """The ZIP's market for an agent under the disclosure rule (DESIGN.md section 2): the
    leads counted are the whole market's as `leads.visibility.market_leads` gives it to this
    viewer (nothing inside its priority window); a lead-derived value, and each month of a lead
    series, is shown only when it covers at least `min_leads` leads."""
    month = month.replace(day=1)
    dialect = session.get_bind().dialect.name
    conditions = market_leads(
        viewer, LeadFilter(zips=(zip_code,)), sorted(AGENT_STATUSES), dialect=dialect, located=False
    )
    metro = await repository.metro_of_zip(session, zip_code, conditions)
    regions = _regions(zip_code, metro)
    points, external = await _external(session, regions, month)
    as_of = min(viewer.now, month_start(indicators.add_months(month, 1)))
    activity = await _activity(session, conditions, now=as_of)
    covered = len(activity.facts) >= min_leads
    ctx = indicators.context(
        month=month,
        activity=activity,
        zhvi=external["zhvi"],
        zori=external["zori"],
        sale_to_list=external["sale_to_list"],
        min_leads=min_leads,
    )
    shown: dict[str, float | None] = {
        k: (v if covered or k not in indicators.LEAD_DERIVED else None) for k, v in ctx.items()
    }
    series: list[SeriesPoint] = []
    if covered:
        for measure, months in sorted(indicators.monthly_lead_series(activity.facts).items()):
            series += [
                SeriesPoint(LEADS, "zip", zip_code, measure, m, cell.value)
                for m, cell in months.items()
                if cell.leads >= min_leads and m <= month
            ]
    return ZipMarket(zip_code, metro, month, min_leads, covered, shown, points, series)
