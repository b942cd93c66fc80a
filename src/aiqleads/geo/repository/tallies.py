"""Penetration's groups from the precomputed tallies (`geo_tallies`, migrations 0035 and 0040)
instead of a scan of the metro's leads, agents' competitor places and office counts likewise
(the office counts from `geo_office_tallies`, migration 0039), and the tallies' compaction.

The tallies count every lead by (metro, ZIP, preview cell and centre, status with held as
available, bought, and the ZCTA of the exact point: admins' ZIP regions, read by
`tallied_groups_by_zcta` alone, since it is finer than the preview cell). A whole-metro
penetration answer for a viewer is those counts, less two small live corrections read in the
same statement (one snapshot): the leads inside the viewer's priority window (published after
`visible_before`, or not yet published; an index range on `ix_leads_status_published`), and,
among the bought ones, the viewer's own purchases (the `mine` flag; `purchases.account_id`'s
index). The groups are those `penetration`'s scans return, with held and available merged
(every penetration figure counts them alike, see `geo.penetration.OPEN_STATUSES`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

import numpy as np
from sqlalchemy import (
    BigInteger,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from aiqleads.geo.repository.common import FloatArray, dialect, leads, purchases
from aiqleads.geo.repository.competitors import CompetitorPoints, expand_bounds
from aiqleads.geo.repository.penetration import PlacedGroups, StatusGroups
from aiqleads.leads.filters import Area, BBox, LeadFilter
from aiqleads.leads.visibility import Viewer, filter_conditions, mine
from aiqleads.models import GeoOfficeTally, GeoTally
from aiqleads.models.enums import LeadStatus

tallies = cast(Table, GeoTally.__table__)
office_tallies = cast(Table, GeoOfficeTally.__table__)

NO_CELL = -1  # the sentinels of migrations 0035 and 0040
NO_PLACE = 1000.0
NO_ZCTA = ""
_OPEN = LeadStatus.AVAILABLE.value
_SOLD = LeadStatus.SOLD.value
_OFFERED = (LeadStatus.AVAILABLE.value, LeadStatus.HELD.value, _SOLD)


def _lead_key() -> list[ColumnElement[Any]]:
    """The tally key of a lead, as the triggers of migration 0040 write it (bought aside)."""
    return [
        func.coalesce(leads.c.zip_code, ""),
        func.coalesce(leads.c.h3_r8, NO_CELL),
        func.coalesce(leads.c.preview_latitude, NO_PLACE),
        func.coalesce(leads.c.preview_longitude, NO_PLACE),
        case((leads.c.status == LeadStatus.HELD.value, _OPEN), else_=leads.c.status),
        func.coalesce(leads.c.zcta, NO_ZCTA),
    ]


def _market_status(status: ColumnElement[str], bought: ColumnElement[bool]) -> ColumnElement[str]:
    # As `repository.penetration._market_status`: sold when bought on the marketplace, a sold
    # listing nobody bought here is "closed", else the status (held counted as available).
    market: ColumnElement[str] = case((bought, _SOLD), (status == _SOLD, "closed"), else_=status)
    return market


async def _signed_groups(
    session: AsyncSession,
    viewer: Viewer,
    metro: str,
    *,
    tally_key: Sequence[ColumnElement[Any]],
    lead_key: Sequence[ColumnElement[Any]],
) -> list[Any]:
    """Rows (*key, market status, mine 0/1, leads) of the metro's offered leads the viewer's
    whole-market aggregates count (`visibility.market_condition` with OFFERED), one per group
    with a non-zero count, grouped by the database. `tally_key` and `lead_key` are the same
    key read from the tallies' columns and from a lead (`_lead_key`).

    The tallies' sums, less the leads inside the viewer's priority window, with the viewer's
    own purchases moved from mine 0 to mine 1: signed parts of one statement (one snapshot),
    summed per group by the database, so the caller gets one row per group (at 100k leads the
    tallies hold about two rows per cell, one per `listed`; summed row by row in Python, they
    cost an admin's H3 answer more CPU than the scan of the leads they replace).
    """
    t = tallies.c
    market = _market_status(t.status, t.bought.is_(True))
    names = [f"k{i}" for i in range(len(tally_key))]
    parts = [
        select(
            *(c.label(n) for c, n in zip(tally_key, names, strict=True)),
            market.label("status"),
            literal(0).label("mine"),
            t.leads.label("leads"),
        ).where(t.metro == metro, t.status.in_([_OPEN, _SOLD]))
    ]
    offered = [leads.c.metro == metro, leads.c.status.in_(_OFFERED)]
    status = _lead_key()[4]
    if viewer.visible_before is not None:
        # Inside the window: not counted for this viewer (the tallies count every lead).
        recent = or_(leads.c.published_at.is_(None), leads.c.published_at > viewer.visible_before)
        lead_market = _market_status(status, purchases.c.lead_id.is_not(None))
        parts.append(
            select(*lead_key, lead_market, literal(0), -func.count())
            .select_from(leads.outerjoin(purchases, purchases.c.lead_id == leads.c.id))
            .where(*offered, recent)
            .group_by(*lead_key, lead_market)
        )
        offered.append(leads.c.published_at <= viewer.visible_before)
    for own, sign in ((1, 1), (0, -1)):  # bought by the viewer: from "not mine" to "mine"
        parts.append(
            select(*lead_key, literal(_SOLD), literal(own), sign * func.count())
            .select_from(purchases.join(leads, leads.c.id == purchases.c.lead_id))
            .where(purchases.c.account_id == viewer.account_id, *offered)
            .group_by(*lead_key)
        )
    signed = union_all(*parts).subquery("signed")
    group = [signed.c[n] for n in names] + [signed.c.status, signed.c.mine]
    total = func.sum(signed.c.leads)
    stmt = select(*group, total.cast(BigInteger)).group_by(*group).having(total != 0)
    return list((await session.execute(stmt)).all())


async def tallied_groups_by_cell(session: AsyncSession, viewer: Viewer, metro: str) -> StatusGroups:
    """`penetration.status_groups_by_cell` for the metro's offered leads at resolution 8 (held
    counted with available)."""
    cell = _lead_key()[1]
    rows = await _signed_groups(
        session, viewer, metro, tally_key=[tallies.c.h3_r8], lead_key=[cell]
    )
    rows = [r for r in rows if int(r[0]) != NO_CELL]
    return StatusGroups(
        [int(r[0]) for r in rows],
        [str(r[1]) for r in rows],
        np.array([bool(r[2]) for r in rows], dtype=bool),
        np.array([int(r[3]) for r in rows], dtype=np.int64),
    )


async def tallied_groups_by_zip_or_place(
    session: AsyncSession, viewer: Viewer, metro: str, *, zips: Sequence[str]
) -> PlacedGroups:
    """`penetration.status_groups_by_zip_or_place` for the metro's offered leads (viewers who
    see preview places; raises ValueError for an exact viewer, whose places are the leads)."""
    if viewer.exact:
        raise ValueError("the tallies place leads at their preview cells, not exact points")
    known = set(zips)
    t = tallies.c
    zip_code, _, lat, lon, _, _ = _lead_key()
    rows = await _signed_groups(
        session,
        viewer,
        metro,
        tally_key=[t.zip_code, t.preview_latitude, t.preview_longitude],
        lead_key=[zip_code, lat, lon],
    )
    g: dict[tuple[tuple[str | None, float | None, float | None], str, bool], int] = defaultdict(int)
    for z, la, lo, status, own, n in rows:
        if float(la) == NO_PLACE or float(lo) == NO_PLACE:
            continue  # not located: the scan's `located` condition leaves it out
        place = (str(z), None, None) if z in known else (None, float(la), float(lo))
        g[(place, str(status), bool(own))] += int(n)

    def coordinate(i: int) -> FloatArray:
        return np.array([np.nan if k[0][i] is None else k[0][i] for k in g], dtype=np.float64)

    return PlacedGroups(
        [k[0][0] for k in g],
        coordinate(1),
        coordinate(2),
        [k[1] for k in g],
        np.array([k[2] for k in g], dtype=bool),
        np.array(list(g.values()), dtype=np.int64),
    )


async def tallied_groups_by_zcta(session: AsyncSession, viewer: Viewer, metro: str) -> StatusGroups:
    """`penetration.status_groups_by_zcta` for the metro's offered leads (held counted with
    available), except that a key's ZIP is the stored one, whichever it is ('' → None): the
    caller tells the metro's ZIPs from the others. Raises ValueError for a viewer who does not
    see exact points: the ZCTA is of the exact point."""
    if not viewer.exact:
        raise ValueError("the stored ZCTA is of the exact point: exact viewers only")
    t = tallies.c
    key = _lead_key()
    rows = await _signed_groups(
        session,
        viewer,
        metro,
        tally_key=[t.zip_code, t.zcta],
        lead_key=[key[0], key[5]],
    )
    return StatusGroups(
        [(str(r[0]) or None, str(r[1]) or None) for r in rows],
        [str(r[2]) for r in rows],
        np.array([bool(r[3]) for r in rows], dtype=bool),
        np.array([int(r[4]) for r in rows], dtype=np.int64),
    )


async def compact(session: AsyncSession, metro: str) -> int:
    """Replace the metro's tally rows by one row per key with their sum (zero sums dropped), in
    one statement on PostgreSQL (rows appended meanwhile by transactions not yet committed are
    not seen, so they stay for the next time). Returns the number of rows left. Only flushes;
    the caller commits. Safe to repeat, and to die at any point: readers sum whatever rows
    there are."""
    t = tallies.c
    cols = [t.zip_code, t.h3_r8, t.preview_latitude, t.preview_longitude, t.status, t.bought]
    cols += [t.listed, t.zcta]
    names = ["metro", *(c.name for c in cols), "leads"]
    if dialect(session) == "postgresql":
        gone = delete(tallies).where(t.metro == metro).returning(*tallies.c).cte("gone")
        g = gone.c
        keep = [g[c.name] for c in cols]
        summed = (
            select(literal(metro), *keep, func.sum(g.leads))
            .group_by(*keep)
            .having(func.sum(g.leads) != 0)
        )
        await session.execute(insert(tallies).from_select(names, summed))
    else:
        # SQLite has one writer at a time: nothing else appends between the two statements.
        top = await session.scalar(select(func.max(t.id)).where(t.metro == metro))
        if top is None:
            return 0
        old = and_(t.metro == metro, t.id <= top)
        summed = (
            select(t.metro, *cols, func.sum(t.leads))
            .where(old)
            .group_by(t.metro, *cols)
            .having(func.sum(t.leads) != 0)
        )
        await session.execute(insert(tallies).from_select(names, summed))
        await session.execute(delete(tallies).where(old))
    left = await session.scalar(select(func.count()).where(t.metro == metro))
    return int(left or 0)


async def tallied_metros(session: AsyncSession) -> list[str]:
    """The metros with tally rows (compaction's work list)."""
    return list((await session.scalars(select(tallies.c.metro).distinct())).all())


def competitors_tallied(f: LeadFilter) -> bool:
    """Whether an agent's competitors under `f` can come from the tallies: the competitor
    query keeps only the filter's area (grown by the radius), so any other filter needs the
    scan."""
    return replace(f, area=Area(), statuses=()) == LeadFilter()


async def tallied_competitor_points(
    session: AsyncSession, viewer: Viewer, f: LeadFilter, *, radius_m: float
) -> CompetitorPoints:
    """`competitors.competitor_points` for a viewer who sees preview places, from the tallies:
    the leads at preview places in the area grown by the radius that name a listing agent or
    office and are offered, or that another buyer bought; less those inside the viewer's
    priority window and the viewer's own purchases (read live, in the same statement). Raises
    ValueError for an exact viewer or a filter `competitors_tallied` refuses."""
    if viewer.exact or not competitors_tallied(f):
        raise ValueError("the tallies hold preview places of unfiltered leads only")
    grown = replace(f, area=Area(bbox=BBox(*expand_bounds(f.area.bounds, radius_m))))
    box = grown.area.bbox
    assert box is not None
    t = tallies.c
    if dialect(session) == "postgresql":
        # As `visibility._bbox_condition` tests the generated `preview_geom` of a lead.
        point = func.ST_SetSRID(func.ST_MakePoint(t.preview_longitude, t.preview_latitude), 4326)
        envelope = func.ST_MakeEnvelope(box.min_lon, box.min_lat, box.max_lon, box.max_lat, 4326)
        in_box: ColumnElement[bool] = point.op("&&")(envelope)
    else:
        in_box = and_(
            t.preview_latitude.between(box.min_lat, box.max_lat),
            t.preview_longitude.between(box.min_lon, box.max_lon),
        )
    place = [t.preview_latitude, t.preview_longitude, t.h3_r8, t.status, t.bought, t.listed]
    parts = [select(literal("t"), *place, func.sum(t.leads)).where(in_box).group_by(*place)]
    _, cell, lat, lon, status, _ = _lead_key()
    key = [lat, lon, cell, status]  # in the order of `place`
    listed = or_(leads.c.listing_agent.is_not(None), leads.c.listing_office.is_not(None))
    located = filter_conditions(viewer, grown, dialect=dialect(session))
    if viewer.visible_before is not None:
        bought = purchases.c.lead_id.is_not(None)
        not_mine = or_(
            purchases.c.account_id.is_(None), purchases.c.account_id != viewer.account_id
        )
        recent = or_(leads.c.published_at.is_(None), leads.c.published_at > viewer.visible_before)
        # Every status, named: the window is then read from `ix_leads_status_published`'s
        # ranges instead of from every lead of the area.
        any_status = leads.c.status.in_([s.value for s in LeadStatus])
        parts.append(
            select(literal("w"), *key, bought, listed, func.count())
            .select_from(leads.outerjoin(purchases, purchases.c.lead_id == leads.c.id))
            .where(any_status, *located, recent, not_mine)
            .group_by(*key, bought, listed)
        )
    parts.append(
        select(literal("m"), *key, literal(True), listed, func.count())
        .select_from(purchases.join(leads, leads.c.id == purchases.c.lead_id))
        .where(purchases.c.account_id == viewer.account_id, *located)
        .group_by(*key, listed)
    )
    counts: dict[tuple[float, float, int], int] = defaultdict(int)
    for part, lat, lon, cell, status, is_bought, is_listed, n in (
        await session.execute(union_all(*parts))
    ).all():
        offered_listing = bool(is_listed) and status in (_OPEN, _SOLD)
        if not (offered_listing or bool(is_bought)):
            continue  # not a competitor (mine are bought: subtracted here as they were added)
        counts[(float(lat), float(lon), int(cell))] += int(n) if part == "t" else -int(n)
    places = sorted((k, n) for k, n in counts.items() if n > 0)
    return CompetitorPoints(
        np.array([k[0] for k, _ in places], dtype=np.float64),
        np.array([k[1] for k, _ in places], dtype=np.float64),
        [None] * len(places),
        np.array([k[2] for k, _ in places], dtype=np.int64),
        np.array([n for _, n in places], dtype=np.int64),
    )


_REGIONS_CHUNK = 1000  # regions per statement: three IN lists of them stay far below 32k binds


async def tallied_offices(
    session: AsyncSession, viewer: Viewer, regions: Sequence[int]
) -> list[tuple[int, str, int]]:
    """`competitors.office_tallies` from the office tallies (migration 0039): (resolution-7
    region, office, listings) of the listed leads on the market in the regions, whatever the
    caller's filters. The tallied counts (offered statuses: held is tallied as available) less,
    read live in the same statement, the listed offered leads of the regions inside the viewer's
    priority window (not yet published, or after `visible_before`; ranges of
    `ix_leads_office_region`) that are not the viewer's, and the viewer's own purchases
    (`purchases.account_id`'s index). Groups with no listing left are left out."""
    t = office_tallies.c
    office = func.coalesce(leads.c.listing_office, leads.c.listing_agent)
    listed = or_(leads.c.listing_agent.is_not(None), leads.c.listing_office.is_not(None))
    counts: dict[tuple[int, str], int] = defaultdict(int)
    ordered = sorted(set(regions))
    for start in range(0, len(ordered), _REGIONS_CHUNK):
        chunk = ordered[start : start + _REGIONS_CHUNK]
        key = [leads.c.h3_r7, office]
        offered = [listed, leads.c.status.in_(_OFFERED), leads.c.h3_r7.in_(chunk)]
        parts = [
            select(literal("t"), t.h3_r7, t.office, func.sum(t.leads))
            .where(t.h3_r7.in_(chunk), t.status.in_([_OPEN, _SOLD]))
            .group_by(t.h3_r7, t.office)
        ]
        if viewer.visible_before is not None:
            recent = or_(
                leads.c.published_at.is_(None), leads.c.published_at > viewer.visible_before
            )
            parts.append(
                select(literal("w"), *key, func.count())
                .where(*offered, recent, ~mine(leads, viewer.account_id))
                .group_by(*key)
            )
        parts.append(
            select(literal("m"), *key, func.count())
            .select_from(purchases.join(leads, leads.c.id == purchases.c.lead_id))
            .where(purchases.c.account_id == viewer.account_id, *offered)
            .group_by(*key)
        )
        for part, region, name, n in (await session.execute(union_all(*parts))).all():
            counts[(int(region), str(name))] += int(n) if part == "t" else -int(n)
    return [(region, name, n) for (region, name), n in counts.items() if n > 0]


async def compact_offices(session: AsyncSession) -> int:
    """`compact` for the office tallies: one row per key with their sum, zero sums dropped (one
    statement on PostgreSQL). Returns the number of rows left. Only flushes; the caller
    commits. Safe to repeat, and to die at any point."""
    t = office_tallies.c
    names = ["h3_r7", "office", "status", "leads"]
    if dialect(session) == "postgresql":
        gone = delete(office_tallies).returning(*office_tallies.c).cte("gone")
        g = gone.c
        keep = [g.h3_r7, g.office, g.status]
        summed = select(*keep, func.sum(g.leads)).group_by(*keep).having(func.sum(g.leads) != 0)
        await session.execute(insert(office_tallies).from_select(names, summed))
    else:
        top = await session.scalar(select(func.max(t.id)))
        if top is None:
            return 0
        keep = [t.h3_r7, t.office, t.status]
        summed = (
            select(*keep, func.sum(t.leads))
            .where(t.id <= top)
            .group_by(*keep)
            .having(func.sum(t.leads) != 0)
        )
        await session.execute(insert(office_tallies).from_select(names, summed))
        await session.execute(delete(office_tallies).where(t.id <= top))
    left = await session.scalar(select(func.count()).select_from(office_tallies))
    return int(left or 0)
