"""All SQL of recommendations: stated preferences, the recommender registry and served items
(tables owned here), and the reads of leads and events the recommender needs. Reads of leads
start from `leads.visibility`'s one base query; hot-path reads select columns with Core."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import h3
import numpy as np
from sqlalchemy import (
    ARRAY,
    BigInteger,
    String,
    Table,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.events.repository import events
from aiqleads.kit.distance import degree_box
from aiqleads.kit.h3cells import PREVIEW_RESOLUTION
from aiqleads.leads import present
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.visibility import Viewer, leads, location, visible_leads
from aiqleads.models import AgentPreference, RecommendationImpression, RecommenderModelRow
from aiqleads.models.enums import EventKind, LeadStatus
from aiqleads.recommend.features import haversine_km
from aiqleads.recommend.profile import Profile

preferences = cast(Table, AgentPreference.__table__)
models = cast(Table, RecommenderModelRow.__table__)
impressions = cast(Table, RecommendationImpression.__table__)

# The demand factor of a lead's price (`price_factors.demand`: float, NULL without one), read in
# SQL: ranking reads nothing else of that JSON document, and decoding each candidate's whole
# document in Python cost more than the rest of its columns.
DEMAND = leads.c.price_factors["demand"].as_float().label("demand")

# What a candidate carries to be ranked: its features' inputs (features.LeadTable.from_rows),
# its public id (the order's tie-break) and what the radius test reads. Only the served few
# are read again with their whole preview (PREVIEW_COLUMNS, `previews`): the ranking reads a
# pool of hundreds, and converting every preview column of each (JSON, times, money) was
# most of a request's Python time.
RANKING_COLUMNS = (
    leads.c.id,
    leads.c.public_id,
    leads.c.kind,
    leads.c.zip_code,
    leads.c.bedrooms,
    leads.c.asking_price_cents,
    leads.c.h3_r8,
    leads.c.h3_r7,
    leads.c.preview_latitude,
    leads.c.preview_longitude,
    leads.c.score_bucket,
    DEMAND,
    leads.c.published_at,
)

# What a served lead carries: its preview (leads.present.preview reads these), and its res-7
# cell for the ranking's diversity.
PREVIEW_COLUMNS = (*(leads.c[name] for name in present.PREVIEW_COLUMNS), leads.c.h3_r7)


# --- stated preferences -------------------------------------------------------------------


async def get_preferences(session: AsyncSession, account_id: int) -> Any:
    row: Any = (
        await session.execute(select(preferences).where(preferences.c.account_id == account_id))
    ).first()
    return row


async def save_preferences(
    session: AsyncSession, account_id: int, values: Mapping[str, Any], *, now: datetime
) -> None:
    """Replace the agent's stated preferences (the columns of AgentPreference)."""
    row = {**values, "updated_at": now}
    done = await session.execute(
        update(preferences).where(preferences.c.account_id == account_id).values(**row)
    )
    if cast(Any, done).rowcount == 0:
        await session.execute(preferences.insert().values(account_id=account_id, **row))


# --- behaviour -----------------------------------------------------------------------------

_HISTORY_KINDS = (EventKind.VIEW.value, EventKind.HOLD.value, EventKind.PURCHASE.value)


async def history(
    session: AsyncSession, account_id: int, *, since: datetime, until: datetime, limit: int
) -> list[Any]:
    """The agent's latest `limit` views, holds and purchases in (since, until), newest first,
    each with its lead's preview columns (through the (account_id, at) index)."""
    stmt = (
        select(
            events.c.kind.label("event_kind"),
            events.c.at,
            leads.c.id,
            leads.c.zip_code,
            leads.c.h3_r8,
            leads.c.h3_r7,
            leads.c.preview_latitude,
            leads.c.preview_longitude,
            leads.c.asking_price_cents,
            leads.c.kind,
            leads.c.bedrooms,
        )
        .join(leads, leads.c.id == events.c.lead_id)
        .where(
            events.c.account_id == account_id,
            events.c.at > since,
            events.c.at < until,
            events.c.kind.in_(_HISTORY_KINDS),
        )
        .order_by(events.c.at.desc(), events.c.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).all())


async def competition(
    session: AsyncSession, cells: Sequence[int], *, since: datetime, until: datetime
) -> dict[int, int]:
    """Holds and purchases (every agent's) in [since, until) on leads of each of the res-8
    `cells` (through the h3_r8 and (lead_id, at) indexes): cell → count, absent when 0."""
    if not cells:
        return {}
    stmt = (
        select(leads.c.h3_r8, func.count())
        .select_from(leads.join(events, events.c.lead_id == leads.c.id))
        .where(
            leads.c.h3_r8.in_(sorted(set(cells))),
            events.c.at >= since,
            events.c.at < until,
            events.c.kind.in_([EventKind.HOLD.value, EventKind.PURCHASE.value]),
        )
        .group_by(leads.c.h3_r8)
    )
    return {int(c): int(n) for c, n in await session.execute(stmt)}


async def competition_by_cell(
    session: AsyncSession, *, since: datetime, until: datetime
) -> dict[int, int]:
    """Holds and purchases (every agent's) in [since, until) per res-8 cell of their leads,
    the whole market at once (`competition.CompetitionCache`): cell → count, absent when 0.

    The period's holds and purchases are counted per lead first, then each counted lead is
    joined to its cell by primary key: the events are read, never the cells' leads. (Joined
    directly, SQLite walks every lead of the h3_r8 index and probes each one's events: 160 ms
    of CPU at 100k leads and growing with them, against 75 ms for this, which does not.)"""
    per_lead = (
        select(events.c.lead_id, func.count().label("n"))
        .where(
            events.c.at >= since,
            events.c.at < until,
            events.c.kind.in_([EventKind.HOLD.value, EventKind.PURCHASE.value]),
        )
        .group_by(events.c.lead_id)
        .subquery()
    )
    stmt = (
        select(leads.c.h3_r8, func.sum(per_lead.c.n))
        .select_from(per_lead.join(leads, leads.c.id == per_lead.c.lead_id))
        .group_by(leads.c.h3_r8)
    )
    return {int(c): int(n) for c, n in await session.execute(stmt) if c is not None}


# --- candidates ------------------------------------------------------------------------------


# A radius wider than this many preview cells is searched by its degree box instead (the
# preview lat/lon index): at about 0.74 km² a cell, 5,000 cells are a circle of about 34 km.
MAX_RADIUS_CELLS = 5_000


def radius_cells(center: tuple[float, float], radius_m: float) -> list[int] | None:
    """The H3 resolution-8 cells whose centre lies within `radius_m` metres (great circle,
    `features.haversine_km`, the same test the service applies) of `center` (lat, lon degrees),
    ascending; None when more than MAX_RADIUS_CELLS could qualify.

    A lead's preview point is its res-8 cell's centre, so "preview point within the radius" is
    exactly "h3_r8 in these cells": an equality lookup on `ix_leads_cell_published` (h3_r8
    leads it) instead of a latitude band read whole. Found by growing a grid disk ring by ring
    until a whole ring lies outside the radius and the next one does too (neighbouring centres
    are under 1 km apart, so no cell beyond two such rings can be inside)."""
    lat, lon = center
    origin = h3.latlng_to_cell(lat, lon, PREVIEW_RESOLUTION)
    point = np.asarray([center], dtype=np.float64)
    found: list[int] = []
    outside_rings = 0
    k = 0
    while outside_rings < 2:
        ring = h3.grid_ring(origin, k) if k else [origin]
        centres = np.asarray([h3.cell_to_latlng(c) for c in ring], dtype=np.float64)
        inside = haversine_km(centres[:, 0], centres[:, 1], point) * 1000.0 <= radius_m
        found.extend(
            int(h3.str_to_int(c)) for c, ok in zip(ring, inside.tolist(), strict=True) if ok
        )
        outside_rings = 0 if inside.any() else outside_rings + 1
        k += 1
        if 3 * k * (k + 1) + 1 > MAX_RADIUS_CELLS:
            return None
    return sorted(found)


@dataclass(frozen=True, slots=True)
class Territory:
    """Where an agent's candidates are looked for, as index lookups on preview columns: its
    ZIPs (each walked freshest first on the (zip_code, published_at) index), its preview cells
    (h3_r8: the stated res-8 cells, the res-8 children of the stated and learned res-7 ones, and
    the cells whose centre lies within the stated radius) and, only for a radius too wide for
    cells, the radius's degree box (preview lat/lon index; the exact radius is applied in
    Python)."""

    zips: tuple[str, ...]
    cells: tuple[int, ...]
    box: tuple[float, float, float, float] | None

    @property
    def empty(self) -> bool:
        return not (self.zips or self.cells or self.box)


def territory(profile: Profile) -> Territory:
    """The agent's territory (stated ∪ learned) as `Territory` lookups."""
    s = profile.stated
    cells = set(s.cells_r8)
    for r7 in profile.cells_r7:
        cells.update(int(h3.str_to_int(c)) for c in h3.cell_to_children(h3.int_to_str(r7), 8))
    box = None
    if s.center is not None and s.radius_m:
        around = radius_cells(s.center, s.radius_m)
        if around is None:
            box = degree_box(s.center[0], s.center[1], s.radius_m)
        else:
            cells.update(around)
    return Territory(tuple(sorted(profile.zips)), tuple(sorted(cells)), box)


def _one_of(column: Any, values: Sequence[Any], item: Any, dialect: str) -> Any:
    """`column IN (values)`; on PostgreSQL `column = ANY(:values)`, one array parameter of SQL
    type `item`. The same rows and index lookups, but one statement text for every list length:
    IN's expanded parameters made each territory's size a new statement for asyncpg to
    prepare and PostgreSQL to plan, while one text is prepared once per connection."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(item)))
    return column.in_(values)


def _territory_branches(viewer: Viewer, where: Territory, dialect: str) -> list[Any]:
    """One WHERE term per index lookup of `where` (see Territory)."""
    terms: list[Any] = [leads.c.zip_code == z for z in where.zips]
    if where.cells:
        terms.append(_one_of(leads.c.h3_r8, where.cells, BigInteger, dialect))
    if where.box is not None:
        min_lat, max_lat, min_lon, max_lon = where.box
        loc = location(as_agent(viewer))
        terms.append(and_(loc.lat.between(min_lat, max_lat), loc.lon.between(min_lon, max_lon)))
    return terms


def as_agent(viewer: Viewer) -> Viewer:
    """The viewer as an agent sees places (preview cells), even an admin: recommendations are
    previews for everyone."""
    return dataclasses.replace(viewer, is_admin=False) if viewer.is_admin else viewer


def _candidate_ids(
    viewer: Viewer,
    where: Territory,
    *,
    pool: int,
    since: datetime | None,
    before: datetime | None,
    dialect: str,
) -> Any:
    """The select of the ids of up to `pool` visible available leads of the territory (or
    anywhere, for an empty one) published before `before` (when given), freshest first.

    With `since` (a window of recent leads): one OR of the territory's lookups, each a range
    on its (place, published_at) index that both planners combine (SQLite's multi-index OR,
    PostgreSQL's bitmap OR); one statement shape for every agent, compiled once. Without it
    (the whole history): one branch per lookup, each walking its index freshest first to its
    `pool`th lead, merged; an OR would read every lead of the territory."""
    agent = as_agent(viewer)
    order = (leads.c.published_at.desc(), leads.c.public_id.desc())
    visible = visible_leads(agent, LeadFilter(), [LeadStatus.AVAILABLE], dialect=dialect)
    if before is not None:
        visible.append(leads.c.published_at < before)
    if where.empty:
        return select(leads.c.id).where(*visible).order_by(*order).limit(pool)
    if since is not None:
        places: list[Any] = []
        if where.zips:
            places.append(_one_of(leads.c.zip_code, where.zips, String, dialect))
        places += _territory_branches(agent, dataclasses.replace(where, zips=()), dialect)
        return (
            select(leads.c.id)
            .where(*visible, leads.c.published_at >= since, or_(*places))
            .order_by(*order)
            .limit(pool)
        )
    branches = [
        select(leads.c.id, leads.c.published_at.label("at"), leads.c.public_id.label("tie"))
        .where(*visible, term)
        .order_by(*order)
        .limit(pool)
        .subquery()
        for term in _territory_branches(agent, where, dialect)
    ]
    merged = union(*(select(b) for b in branches)).subquery()
    return select(merged.c.id).order_by(merged.c.at.desc(), merged.c.tie.desc()).limit(pool)


# Each window is this many times the one before; the last try reads the whole history.
_WINDOW_GROWTH = 8


async def candidates(
    session: AsyncSession,
    viewer: Viewer,
    profile: Profile,
    *,
    pool: int,
    window: timedelta | None = None,
) -> list[Any]:
    """Up to `pool` leads the viewer may see and buy now, freshest first, as rows of
    RANKING_COLUMNS (their previews: `previews`): effective status
    available (never held, sold, withheld, pending…), past the viewer's priority window
    (leads.visibility), in the agent's territory when it has one (else anywhere).

    `window`: look first only at the leads published in the `window` before the viewer's now,
    then in the window `_WINDOW_GROWTH` times longer before it, and only when those hold fewer
    than `pool` in the rest of the history (`_candidate_ids`). Each try reads only what the
    ones before did not (published before their start) and only as many as are still missing:
    every lead of a window is newer than every lead before it, so the tries' answers, in turn,
    are the whole history's answer. A territory's lookups then read its recent index entries,
    not all of its leads."""
    dialect = session.get_bind().dialect.name
    where = territory(profile)
    tries: list[datetime | None] = [None]
    if window is not None and not where.empty:
        tries = [viewer.now - window, viewer.now - window * _WINDOW_GROWTH, None]
    rows: list[Any] = []
    before: datetime | None = None
    for since in tries:
        ids = _candidate_ids(
            viewer, where, pool=pool - len(rows), since=since, before=before, dialect=dialect
        )
        stmt = (
            select(*RANKING_COLUMNS)
            .where(leads.c.id.in_(ids.scalar_subquery()))
            .order_by(leads.c.published_at.desc(), leads.c.public_id.desc())
        )
        rows += (await session.execute(stmt)).all()
        if len(rows) >= pool:
            break
        before = since
    return rows


async def previews(session: AsyncSession, viewer: Viewer, ids: Sequence[int]) -> list[Any]:
    """The previews (rows of PREVIEW_COLUMNS) of the leads `ids` (row ids, e.g. the ones
    `candidates` gave and the ranking chose), in the order of `ids`, through the same base
    query: a lead no longer visible and available to the viewer (held or sold since) is left
    out."""
    if not ids:
        return []
    dialect = session.get_bind().dialect.name
    visible = visible_leads(as_agent(viewer), LeadFilter(), [LeadStatus.AVAILABLE], dialect=dialect)
    stmt = select(*PREVIEW_COLUMNS).where(*visible, leads.c.id.in_(list(ids)))
    found = {int(r.id): r for r in (await session.execute(stmt)).all()}
    return [found[i] for i in ids if i in found]


# --- the registry ---------------------------------------------------------------------------


async def add_model(session: AsyncSession, row: Mapping[str, Any]) -> None:
    """Register a trained model (status `registered`). A version already registered violates
    the unique constraint (IntegrityError)."""
    await session.execute(models.insert().values(**{**row, "status": "registered"}))


async def serving(session: AsyncSession) -> Any:
    """(version, artifact_path) of the serving model, if any: the stamp each process checks."""
    row: Any = (
        await session.execute(
            select(models.c.version, models.c.artifact_path).where(models.c.status == "serving")
        )
    ).first()
    return row


async def registered(session: AsyncSession, version: str) -> Any:
    """(version, artifact_path) of a registered version, serving or not; None if unknown."""
    row: Any = (
        await session.execute(
            select(models.c.version, models.c.artifact_path).where(models.c.version == version)
        )
    ).first()
    return row


async def activate(session: AsyncSession, version: str, *, now: datetime) -> bool:
    """Serve `version` (the serving one, if another, becomes `retired`). False when no such
    version is registered."""
    found = await session.scalar(select(models.c.id).where(models.c.version == version))
    if found is None:
        return False
    await session.execute(
        update(models)
        .where(models.c.status == "serving", models.c.version != version)
        .values(status="retired")
    )
    await session.execute(
        update(models).where(models.c.id == found).values(status="serving", activated_at=now)
    )
    return True


async def rollback(session: AsyncSession, *, now: datetime) -> tuple[str | None, str | None]:
    """Take the serving model off (status `rolled_back`) and serve the one that served before
    it (the latest activated `retired` model); with none before it, recommendations fall back
    to the cold-start scorer. Returns (version taken off, version now serving); (None, None)
    when nothing was serving."""
    current = await serving(session)
    if current is None:
        return None, None
    await session.execute(
        update(models).where(models.c.version == current.version).values(status="rolled_back")
    )
    previous = await session.scalar(
        select(models.c.version)
        .where(models.c.status == "retired", models.c.activated_at.is_not(None))
        .order_by(models.c.activated_at.desc(), models.c.id.desc())
        .limit(1)
    )
    if previous is not None:
        await session.execute(
            update(models)
            .where(models.c.version == previous)
            .values(status="serving", activated_at=now)
        )
    return str(current.version), None if previous is None else str(previous)


async def listed_models(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(
            models.c.version,
            models.c.status,
            models.c.trained_at,
            models.c.activated_at,
            models.c.metrics,
            models.c.artifact_path,
        ).order_by(models.c.trained_at.desc(), models.c.id.desc())
    )
    return [dict(r._mapping) for r in rows]


# --- served items and their outcomes ------------------------------------------------------------


def impression_rows(
    account_id: int, lead_ids: Sequence[int], *, version: str, now: datetime
) -> list[dict[str, Any]]:
    """The rows of `impressions` logging a served list (internal lead ids, in rank order)."""
    return [
        {
            "account_id": account_id,
            "lead_id": lead_id,
            "model_version": version,
            "rank": rank,
            "served_at": now,
        }
        for rank, lead_id in enumerate(lead_ids, start=1)
    ]


async def add_impressions(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append impression rows (`impression_rows`' shape) in one executemany of a one-row
    INSERT: one round trip (aiosqlite's executemany, asyncpg's pipelined one) of a statement
    compiled once for every number of rows. A multi-row VALUES was a new construct of 5 × n
    parameters built and keyed for the compiled cache each time: about 4 times the CPU (0.3-0.5
    against 1.3 ms for 10 rows, SQLite and PostgreSQL)."""
    if rows:
        await session.execute(impressions.insert(), list(rows))


async def record_impressions(
    session: AsyncSession, account_id: int, lead_ids: Sequence[int], *, version: str, now: datetime
) -> None:
    """Log the served list (internal lead ids, in rank order) in the session's transaction."""
    await add_impressions(session, impression_rows(account_id, lead_ids, version=version, now=now))


async def outcomes(
    session: AsyncSession, *, since: datetime, until: datetime, window: timedelta
) -> list[tuple[str, str, int]]:
    """(model version, event kind, count) of the views, holds and purchases in (since, until]
    by an agent on a lead recommended to it by that version before the event, and at most
    `window` before `since` (each event counted once per version that served it)."""
    stmt = (
        select(impressions.c.model_version, events.c.kind, func.count(func.distinct(events.c.id)))
        .select_from(
            events.join(
                impressions,
                and_(
                    impressions.c.account_id == events.c.account_id,
                    impressions.c.lead_id == events.c.lead_id,
                    impressions.c.served_at <= events.c.at,
                ),
            )
        )
        .where(
            events.c.at > since,
            events.c.at <= until,
            events.c.kind.in_(_HISTORY_KINDS),
            impressions.c.served_at >= since - window,
        )
        .group_by(impressions.c.model_version, events.c.kind)
    )
    return [(str(v), str(k), int(n)) for v, k, n in await session.execute(stmt)]
