"""The one write path of the leads table: insert, update, merge, status changes, price history.

Every writer (ingestion, the demo through it, later the cart and checkout) calls these; nothing
else writes `leads`. Each function works in the caller's transaction and, in that same
transaction, records the lead's status history and bumps the data version of every metro it
touched, so caches keyed on the versions never serve an answer older than the data.

What the write path derives itself, so no caller can get it wrong:

* the location: H3 cells of the exact point (resolutions 8 and 9), the preview cell's parent
  (resolution 7), the preview cell's centre, the metro of that centre, and the ZCTA holding the
  exact point (`zcta`, for admins' ZIP answers only: it is finer than the preview cell);
* a stored exact point is never replaced by a coarser one (a source that drops a listing's
  coordinates in a later crawl does not move the lead to its ZIP's centre), and a coarse one is
  upgraded when an exact one arrives;
* `city_key` from `city`, `score_bucket` from `score`, and a random public id on insert;
* the status, from the source's listing status (`leads.status`), except that a lead someone
  bought keeps its status whatever a source says later, and a held lead stays held while its
  source still reports it active.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
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
    case,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from aiqleads.db import bulk
from aiqleads.db import reencrypt as reencryption
from aiqleads.db.keys import key_groups, one_of
from aiqleads.geo.boundaries import zcta_of_points
from aiqleads.kit.h3cells import cell_center, cells_for
from aiqleads.kit.places import city_key
from aiqleads.leads import tasks, versions
from aiqleads.leads.pricing import RULES_VERSION
from aiqleads.leads.scores import BUCKET_LABELS, score_bucket
from aiqleads.leads.status import status_for_listing
from aiqleads.metros import metro_for_point
from aiqleads.models import Lead, LeadPriceHistory, LeadStatusHistory, Purchase
from aiqleads.models.enums import LeadStatus

leads = cast(Table, Lead.__table__)
purchases = cast(Table, Purchase.__table__)
status_history = cast(Table, LeadStatusHistory.__table__)
price_history = cast(Table, LeadPriceHistory.__table__)

Key = tuple[str, str]  # (source, source_ref)

# Columns a later sighting may fill in when the lead's own source left them empty.
FILLABLE = (
    "source_url",
    "title",
    "property_type",
    "bedrooms",
    "bathrooms",
    "living_area_sqft",
    "lot_sqft",
    "year_built",
    "asking_price_cents",
    "street_address",
    "unit",
    "city",
    "city_key",
    "state",
    "zip_code",
    "address_key",
    "owner_name_enc",
    "owner_phone_enc",
    "owner_email_enc",
    "owner_phone_hmac",
    "listing_agent",
    "listing_office",
    "listed_at",
    "price_period",
    "listed_price_cents",
    "contacts_enc",
    "listing_agent_phone",
    "listing_agent_email",
    "listing_office_phone",
    "description_hash",
)
# Fillable columns a caller may leave out (None): added after the first callers were written.
OPTIONAL_FILLABLE = (
    "price_period",
    "listed_price_cents",
    "contacts_enc",
    "listing_agent_phone",
    "listing_agent_email",
    "listing_office_phone",
    "description_hash",
)
# What screening (ingestion) says of a lead, replaced at each sighting; None when not screened.
# `blocked_reason` set withholds the lead from sale (status "withheld") until an admin releases
# it; after a release, screening no longer withholds it.
SCREENING = ("risk_score", "risk_signals", "blocked_reason")
# The location, derived together from one point: replaced together or not at all.
LOCATION = (
    "latitude",
    "longitude",
    "geocode_precision",
    "h3_r7",
    "h3_r8",
    "h3_r9",
    "preview_latitude",
    "preview_longitude",
    "metro",
    "zcta",
)
# What a caller gives; everything else is derived here.
GIVEN = (
    "source",
    "source_ref",
    "kind",
    "listing_status",
    "currency",
    "latitude",
    "longitude",
    "geocode_precision",
    "score",
    "model_version",
    "price_cents",
    "price_currency",
    *(c for c in FILLABLE if c != "city_key" and c not in OPTIONAL_FILLABLE),
)
# What a caller may give; None when it does not.
OPTIONAL = (*OPTIONAL_FILLABLE, *SCREENING, "price_factors")
# The score and the price made from it. Ingestion gives the rules-1 ones; once the scoring model
# has scored a lead (`set_scores`), a later sighting keeps the model's until it scores again.
SCORED = (
    "score",
    "score_bucket",
    "model_version",
    "score_reasons",
    "price_cents",
    "price_currency",
    "price_factors",
)
# Written on insert only: identity, first sighting and the marketplace's publication instant;
# and an admin's release, which no later sighting undoes.
_INSERT_ONLY = ("id", "public_id", "first_seen_at", "published_at", "released_at", "released_by")
_EXACT = "exact"
# Listing statuses that say something about the market (see leads.status).
_INFORMATIVE = tuple(
    s
    for s in (
        "Active",
        "Active Under Contract",
        "Canceled",
        "Closed",
        "Coming Soon",
        "Delete",
        "Expired",
        "Hold",
        "Pending",
        "Withdrawn",
    )
    if status_for_listing(s) is not None
)
# From this many rows on, PostgreSQL gets them by COPY (a staging table costs a few statements).
_COPY_FROM = 50


def derived_location(lat: float | None, lon: float | None) -> dict[str, Any]:
    """The location columns of a point (see the module docstring); all None without a point.
    `zcta` is None here: it is filled for a whole batch at once by `_with_zctas`."""
    if lat is None or lon is None:
        return dict.fromkeys(
            ("h3_r7", "h3_r8", "h3_r9", "preview_latitude", "preview_longitude", "metro", "zcta")
        )
    r7, r8, r9 = cells_for(lat, lon)
    centre_lat, centre_lon = cell_center(r8)
    metro = metro_for_point(centre_lat, centre_lon)
    return {
        "h3_r7": r7,
        "h3_r8": r8,
        "h3_r9": r9,
        "preview_latitude": centre_lat,
        "preview_longitude": centre_lon,
        "metro": None if metro is None else metro.slug,
        "zcta": None,
    }


def _with_zctas(rows: Sequence[dict[str, Any]]) -> None:
    """Set `zcta` of every located row (`_full_row`s) in place, by one point-in-polygon call
    for the batch (`geo.boundaries.zcta_of_points`: each call tests the bounding boxes of
    every ZCTA of the four metros first, ~0.2 ms, so one call per row would cost that a lead)."""
    located = [r for r in rows if r["latitude"] is not None and r["longitude"] is not None]
    if not located:
        return
    zctas = zcta_of_points([r["latitude"] for r in located], [r["longitude"] for r in located])
    for r, z in zip(located, zctas, strict=True):
        r["zcta"] = z


def _full_row(given: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    missing = [c for c in GIVEN if c not in given]
    if missing:
        raise ValueError(f"lead row lacks {missing}")
    row = {c: given[c] for c in GIVEN}
    row.update({c: given.get(c) for c in OPTIONAL})
    if row["latitude"] is None or row["longitude"] is None:
        row["latitude"] = row["longitude"] = None
        row["geocode_precision"] = "none"
    row.update(derived_location(row["latitude"], row["longitude"]))
    status = status_for_listing(row["listing_status"]) or LeadStatus.AVAILABLE
    if row["blocked_reason"] is not None and status is LeadStatus.AVAILABLE:
        status = LeadStatus.WITHHELD
    row.update(
        public_id=uuid.uuid4(),
        status=status.value,
        city_key=city_key(row["city"]) if row["city"] else None,
        score_bucket=score_bucket(row["score"]),
        published_at=given.get("published_at") or now,
        first_seen_at=now,
        updated_at=now,
    )
    return row


# --- SQL pieces shared by insert-or-update and merge ------------------------------------------


def _bought(t: Any) -> ColumnElement[bool]:
    cond: ColumnElement[bool] = t.c.id.in_(select(purchases.c.lead_id))
    return cond


def _status_rule(
    stored: Any, new_status: ColumnElement[Any], new_listing: ColumnElement[Any]
) -> ColumnElement[Any]:
    """The status after a source reported `new_listing` (mapped to `new_status`)."""
    # Constants written into the SQL: an IN list of bound values cannot run in executemany.
    informative = or_(*(new_listing == literal_column(f"'{v}'") for v in _INFORMATIVE))
    return case(
        (new_listing.is_(None) | ~informative, stored.c.status),
        (_bought(stored), stored.c.status),
        (
            and_(
                stored.c.status == LeadStatus.HELD.value,
                new_status == LeadStatus.AVAILABLE.value,
            ),
            stored.c.status,
        ),
        else_=new_status,
    )


def _keep_exact(stored: Any, new_precision: ColumnElement[Any]) -> ColumnElement[bool]:
    """True where the stored point is exact and the new one is not: keep the stored location."""
    return and_(stored.c.geocode_precision == _EXACT, new_precision != _EXACT)


def _upsert_statement(dialect: str, staged: Table | None = None) -> Any:
    """INSERT … ON CONFLICT (source, source_ref) DO UPDATE by the rules of the module doc: of
    bound rows (executemany), or on PostgreSQL of a COPY-filled staging table (one set-based
    statement for the batch)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(leads)
    if staged is not None:
        stmt = stmt.from_select([c.name for c in staged.c], select(*staged.c))
    new = stmt.excluded
    keep = _keep_exact(leads, new.geocode_precision)
    by_model = and_(
        leads.c.model_version.is_not(None),
        leads.c.model_version != literal_column(f"'{RULES_VERSION}'"),
    )
    sets: dict[str, Any] = {}
    for c in leads.columns:
        if c.name in _INSERT_ONLY:
            continue
        if c.name in FILLABLE:
            sets[c.name] = func.coalesce(new[c.name], c)
        elif c.name in LOCATION:
            sets[c.name] = case((keep, c), else_=new[c.name])
        elif c.name in SCORED:
            sets[c.name] = case((by_model, c), else_=new[c.name])
        else:
            sets[c.name] = new[c.name]
    sets["listing_status"] = func.coalesce(new.listing_status, leads.c.listing_status)
    released = leads.c.released_at.is_not(None)
    sets["blocked_reason"] = case((released, None), else_=new.blocked_reason)
    blocked = and_(new.blocked_reason.is_not(None), ~released, ~_bought(leads))
    sets["status"] = _withheld_rule(_status_rule(leads, new.status, new.listing_status), blocked)
    sets.update(_hold_kept(leads, sets["status"]))
    return stmt.on_conflict_do_update(index_elements=["source", "source_ref"], set_=sets)


def _withheld_rule(status: ColumnElement[Any], blocked: ColumnElement[bool]) -> ColumnElement[Any]:
    """A lead on the market that screening blocks is withheld; a withheld lead no longer
    blocked (released, or its signals gone) is back on the market."""
    on_market = (LeadStatus.AVAILABLE.value, LeadStatus.HELD.value, LeadStatus.WITHHELD.value)
    return case(
        (
            and_(blocked, status.in_([literal_column(f"'{v}'") for v in on_market])),
            literal_column(f"'{LeadStatus.WITHHELD.value}'"),
        ),
        (
            and_(~blocked, status == literal_column(f"'{LeadStatus.WITHHELD.value}'")),
            literal_column(f"'{LeadStatus.AVAILABLE.value}'"),
        ),
        else_=status,
    )


def _hold_kept(stored: Any, status: ColumnElement[Any]) -> dict[str, ColumnElement[Any]]:
    """The hold columns after a status change: kept while the lead stays held, else cleared (a
    source that takes a held lead off the market ends the hold)."""
    held = status == LeadStatus.HELD.value
    return {c: case((held, stored.c[c]), else_=None) for c in ("held_by", "held_until")}


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    status: str
    metro: str | None


async def _stored_by_key(session: AsyncSession, keys: Sequence[Key]) -> dict[Key, _Stored]:
    found: dict[Key, _Stored] = {}
    by_source: dict[str, list[str]] = {}
    for source, ref in sorted(set(keys)):
        by_source.setdefault(source, []).append(ref)
    for source, refs in by_source.items():
        for chunk in key_groups(session, refs):
            stmt = select(
                leads.c.source, leads.c.source_ref, leads.c.id, leads.c.status, leads.c.metro
            ).where(leads.c.source == source, one_of(session, leads.c.source_ref, chunk))
            for r in await session.execute(stmt):
                found[(r.source, r.source_ref)] = _Stored(r.id, r.status, r.metro)
    return found


async def _stored_by_id(session: AsyncSession, ids: Collection[int]) -> dict[int, _Stored]:
    found: dict[int, _Stored] = {}
    for chunk in key_groups(session, sorted(set(ids))):
        condition = one_of(session, leads.c.id, chunk)
        stmt = select(leads.c.id, leads.c.status, leads.c.metro).where(condition)
        for r in await session.execute(stmt):
            found[r.id] = _Stored(r.id, r.status, r.metro)
    return found


@dataclass(frozen=True, slots=True)
class _Change:
    lead_id: int
    before: str | None
    after: str
    listing_status: str | None


async def _record(
    session: AsyncSession,
    changes: Sequence[_Change],
    metros: Iterable[str | None],
    *,
    cause: str,
    now: datetime,
) -> None:
    rows = [
        {
            "lead_id": c.lead_id,
            "status_from": c.before,
            "status_to": c.after,
            "listing_status": c.listing_status,
            "cause": cause[:48],
            "changed_at": now,
        }
        for c in changes
        if c.before != c.after
    ]
    if len(rows) > _COPY_FROM and bulk.is_postgres(session):
        await bulk.copy_into(session, status_history, list(rows[0]), rows)
    elif rows:
        await session.execute(status_history.insert(), rows)
    await versions.bump(session, metros, now=now)


# Values bound by name at each execution into the statements built once per shape (`_BUILT`):
# `bindparam(NOW)` and the like. Prefixed so that no name is a column's (an UPDATE would take a
# parameter named as one of its table's columns for a value to SET).
NOW, LEAD, ACCOUNT, UNTIL, VISIBLE_BEFORE = "p_now", "p_lead", "p_account", "p_until", "p_before"


@dataclass(frozen=True, slots=True)
class Along:
    """The caller's own records of a move (a hold's record and event). `records` builds them
    from a guard: on PostgreSQL an EXISTS over the move's rows, and each write must happen only
    when it is true; None where they run after the move, only if it moved something. `records`
    must be a module-level function whose statements carry every value that varies as a named
    `bindparam()` (`params` gives them, with NOW and the move's own names also bound): the
    statement it joins is built once per `records` and kept (see `_BUILT`)."""

    records: Callable[[ColumnElement[bool] | None], Sequence[Insert | Update]]
    params: Mapping[str, Any]

    def __post_init__(self) -> None:
        # A lambda, a nested function, a bound method or a partial may hold values of its call
        # (closure, self, arguments): the statement kept from its first call would then carry
        # them into every later one (and each new one would add a kept statement).
        records = self.records
        if not inspect.isfunction(records) or "<" in records.__qualname__:
            raise ValueError(f"Along.records must be a module-level function, not {records!r}")


# Hold and release statements, built once per shape and kept: building and hashing a statement
# of six CTEs cost a third of a hold request's CPU in the server, more than running it (about
# 1.5 ms of 5.4). The shapes are few (which branch, a priority window or not, the caller's
# `records`, whether the version bump rides along), so this never grows past a few dozen.
_BUILT: dict[Hashable, tuple[Select[Any], bool]] = {}


async def _move(
    session: AsyncSession,
    stmt: Update,
    *,
    before: str,
    after: str,
    cause: str,
    now: datetime,
    params: Mapping[str, Any] | None = None,
    shape: Hashable | None = None,
    along: Along | None = None,
    last_write: bool = False,
) -> Sequence[Row[Any, Any]]:
    """Run a conditional UPDATE of leads that moves each row it matches from `before` to
    `after`, and record every moved row's history and its metro's version bump; returns the
    (id, metro) of the rows moved. On PostgreSQL the history rows are written by the same
    statement (a data-modifying CTE reading the UPDATE's RETURNING): one round trip, which is
    what a hold, a release and a sale cost most of. `along` (see `Along`) adds the caller's
    records of the move to that same statement, guarded by EXISTS over the moved rows; elsewhere
    they run after it, only when a row moved. `last_write`, for an UPDATE of at most one row
    in a transaction that writes nothing more before its commit: on PostgreSQL the version is
    bumped in the statement too (`versions.bumping_in`), not by one more at the commit.
    `params`: the values of `stmt`'s named bindparams; `shape`, when given, names `stmt`'s
    shape (the same `shape` always comes with an equal `stmt`, its values all in `params`): the
    whole statement is then built once and kept."""
    values = {**(params or {}), **(along.params if along else {}), NOW: now}
    rows: Sequence[Row[Any, Any]]
    if before == after or not bulk.is_postgres(session):
        returning = stmt.returning(leads.c.id, leads.c.metro)
        rows = (await session.execute(returning, values)).all()
        changes = [_Change(r.id, before, after, None) for r in rows]
        if changes:
            await _record(session, changes, {r.metro for r in rows}, cause=cause, now=now)
            if along is not None:
                await bulk.execute_together(session, along.records(None), values)
        return rows
    key = None
    if shape is not None:
        key = (shape, before, after, cause, along and along.records, last_write)
    built = _BUILT.get(key) if key is not None else None
    if built is None:
        built = _moving(
            stmt, before=before, after=after, cause=cause, along=along, last_write=last_write
        )
        if key is not None:
            _BUILT[key] = built
    query, bumps = built
    rows = (await session.execute(query, values)).all()
    if rows and (not bumps or rows[0].bumped is None):
        await versions.bump(session, {r.metro for r in rows}, now=now)
    elif rows:
        versions.bumped_in_statement(session)
    return rows


def _moving(
    stmt: Update, *, before: str, after: str, cause: str, along: Along | None, last_write: bool
) -> tuple[Select[Any], bool]:
    """`_move`'s statement on PostgreSQL, its moment bound as NOW; and whether it bumps the
    version (a column `bumped`)."""
    moved = stmt.returning(leads.c.id, leads.c.metro).cte("moved")
    history = status_history.insert().from_select(
        ["lead_id", "status_from", "status_to", "listing_status", "cause", "changed_at"],
        select(
            moved.c.id,
            literal(before, status_history.c.status_from.type),
            literal(after, status_history.c.status_to.type),
            null(),
            literal(cause[:48], status_history.c.cause.type),
            bindparam(NOW, type_=status_history.c.changed_at.type),
        ),
    )
    query = select(moved.c.id, moved.c.metro).add_cte(history.cte("history"))
    if along is not None:
        # Every data-modifying CTE runs once, whole, whether or not the query reads it; all
        # see the snapshot from before the statement (none sees another's rows).
        guard = select(moved.c.id).exists()
        for n, write in enumerate(along.records(guard)):
            query = query.add_cte(write.cte(f"along{n}"))
    if not last_write:
        return query, False
    bumping = versions.bumping_in(moved.c.metro, at=bindparam(NOW)).cte("bumped")
    bumped = select(bumping.c.shard).scalar_subquery().label("bumped")
    return query.add_columns(bumped).add_cte(bumping), True


# --- the write functions -----------------------------------------------------------------------


async def upsert(
    session: AsyncSession,
    rows: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    cause: str,
) -> dict[Key, int]:
    """Insert new leads and update known ones (keyed on source and source_ref); returns the
    lead id of every row's key.

    Each row gives the columns in `GIVEN` (and may give `published_at`, an instant in the past
    for historical records); the rest is derived (see the module docstring). On update, a
    fillable column keeps its stored value when the row's is None, and identity, first sighting
    and publication stay. `cause` ("ingest:craigslist") goes into the status history.
    Raises ValueError when a row lacks a given column.
    """
    if not rows:
        return {}
    # One row per key, the last one winning: one INSERT may not update a row twice.
    last = {(r["source"], r["source_ref"]): r for r in rows}
    full = [_full_row(r, now) for r in last.values()]
    _with_zctas(full)
    keys = list(last)
    before = await _stored_by_key(session, keys)
    dialect = session.get_bind().dialect.name
    returned = (leads.c.id, leads.c.source, leads.c.source_ref, leads.c.status, leads.c.metro)
    if dialect == "postgresql":
        staged = await bulk.stage(session, leads, list(full[0]), full)
        stmt = _upsert_statement(dialect, staged).returning(*returned)
        written = (await session.execute(stmt)).all()
    else:
        stmt = _upsert_statement(dialect).returning(*returned)
        written = (await session.execute(stmt, full)).all()
    listing = {k: r["listing_status"] for k, r in zip(keys, full, strict=True)}
    ids: dict[Key, int] = {}
    changes: list[_Change] = []
    metros: set[str | None] = set()
    for r in written:
        key = (r.source, r.source_ref)
        ids[key] = r.id
        old = before.get(key)
        changes.append(_Change(r.id, old.status if old else None, r.status, listing[key]))
        metros.add(r.metro)
        if old is not None:
            metros.add(old.metro)
    await _record(session, changes, metros, cause=cause, now=now)
    available = LeadStatus.AVAILABLE.value
    fresh = [c.lead_id for c in changes if c.before is None and c.after == available]
    if fresh:  # live pages learn of them once this transaction commits
        await tasks.announce.enqueue(session, lead_ids=fresh)
    return ids


async def merge(
    session: AsyncSession,
    sightings: Sequence[tuple[int, Mapping[str, Any]]],
    *,
    now: datetime,
    cause: str,
) -> None:
    """Merge other sightings (rows as for `upsert`) into stored leads, given by id.

    Empty fillable columns are filled; a coarse location is upgraded by an exact one; the status
    follows the sighting's listing status by the same rule as `upsert`; identity, and everything
    already known, stay. Leads are updated in id order, so two writers cannot deadlock.
    """
    if not sightings:
        return
    ordered = sorted(((lead_id, _full_row(r, now)) for lead_id, r in sightings), key=lambda s: s[0])
    _with_zctas([row for _, row in ordered])
    before = await _stored_by_id(session, [lead_id for lead_id, _ in ordered])
    new_precision: ColumnElement[Any] = bindparam("p_geocode_precision")
    upgrade = and_(leads.c.geocode_precision != _EXACT, new_precision == _EXACT)
    values: dict[str, Any] = {
        c: func.coalesce(leads.c[c], bindparam(f"p_{c}", type_=leads.c[c].type)) for c in FILLABLE
    }
    for c in LOCATION:
        values[c] = case((upgrade, bindparam(f"p_{c}", type_=leads.c[c].type)), else_=leads.c[c])
    new_listing = bindparam("p_listing_status", type_=leads.c.listing_status.type)
    values["listing_status"] = func.coalesce(new_listing, leads.c.listing_status)
    values["status"] = _status_rule(
        leads, bindparam("p_status", type_=leads.c.status.type), new_listing
    )
    values.update(_hold_kept(leads, values["status"]))
    values["updated_at"] = bindparam("p_now", type_=leads.c.updated_at.type)
    stmt = update(leads).where(leads.c.id == bindparam("p_id")).values(values)
    columns = (*FILLABLE, *LOCATION, "listing_status", "status")
    params = [
        {"p_id": lead_id, "p_now": now, **{f"p_{c}": row[c] for c in columns}}
        for lead_id, row in ordered
    ]
    await session.execute(stmt, params)
    after = await _stored_by_id(session, before)
    listing = {lead_id: row["listing_status"] for lead_id, row in ordered}
    changes = [
        _Change(i, before[i].status, after[i].status, listing[i]) for i in after if i in before
    ]
    metros = {s.metro for s in (*before.values(), *after.values())}
    await _record(session, changes, metros, cause=cause, now=now)


async def set_status(
    session: AsyncSession,
    lead_ids: Collection[int],
    status: LeadStatus,
    *,
    now: datetime,
    cause: str,
    only_from: Sequence[LeadStatus],
) -> list[int]:
    """Move leads to `status` if, and only if, their status is one of `only_from`.

    Each move is one conditional UPDATE (`WHERE id = :id AND status = :from`) whose row count
    says whether this caller won: two callers racing for a lead cannot both win, on SQLite
    (which ignores row locks) as on PostgreSQL. Leads are taken in id order, the fixed lock order
    that keeps two writers from deadlocking. Returns the ids changed.
    """
    if status is LeadStatus.HELD:
        raise ValueError("a hold names its holder and end: use take_hold")
    changed: list[int] = []
    metros: set[str | None] = set()
    history: list[_Change] = []
    for lead_id in sorted(set(lead_ids)):
        for before in only_from:
            stmt = (
                update(leads)
                .where(leads.c.id == lead_id, leads.c.status == before.value)
                .values(status=status.value, held_by=None, held_until=None, updated_at=now)
                .returning(leads.c.metro)
            )
            found = (await session.execute(stmt)).first()
            if found is not None:
                changed.append(lead_id)
                metros.add(found[0])
                history.append(_Change(lead_id, before.value, status.value, None))
                break
    if changed:
        await _record(session, history, metros, cause=cause, now=now)
    return changed


async def release_withheld(
    session: AsyncSession, lead_id: int, *, account_id: int, now: datetime
) -> bool:
    """An admin's release of a lead screening withheld: back on the market, and never withheld
    by screening again (the signals stay recorded). False when the lead is not withheld."""
    stmt = (
        update(leads)
        .where(leads.c.id == lead_id, leads.c.status == LeadStatus.WITHHELD.value)
        .values(
            status=LeadStatus.AVAILABLE.value,
            blocked_reason=None,
            released_at=now,
            released_by=account_id,
            updated_at=now,
        )
        .returning(leads.c.metro)
    )
    found = (await session.execute(stmt)).first()
    if found is None:
        return False
    change = _Change(lead_id, LeadStatus.WITHHELD.value, LeadStatus.AVAILABLE.value, None)
    await _record(session, [change], {found[0]}, cause="release", now=now)
    return True


# --- holds: the cart takes, extends and releases them; the sweeper tidies lapsed ones ----------


def _lapsed(now: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    return and_(leads.c.status == LeadStatus.HELD.value, leads.c.held_until <= now)


async def take_hold(
    session: AsyncSession,
    lead_id: int,
    *,
    account_id: int,
    until: datetime,
    now: datetime,
    visible_before: datetime | None,
    seen_status: str | None = None,
    along: Along | None = None,
    last_write: bool = False,
) -> bool:
    """Hold the lead for the account until `until`, if and only if it is free now: available,
    or held by a hold that has lapsed, and (for an agent in a priority window) published by
    `visible_before`. One conditional UPDATE whose row count says whether this caller won, so
    of two agents racing for one lead exactly one gets it, on SQLite as on PostgreSQL.
    `seen_status` (the status the caller read) picks which of the two free states is tried
    first, so the usual case is one UPDATE; the other is still tried when it misses.
    `along`: the caller's records of the hold, written only if it is taken (see `Along`); on
    PostgreSQL in the UPDATE's own statement. `last_write`: the caller's transaction writes
    nothing more before its commit (see `_move`).

    On PostgreSQL a lead whose row another transaction has locked (one taking, releasing or
    selling it, until it commits) is skipped, not waited for: the hold misses at once, as it
    would have after the wait in the usual case (a hot lead someone else just took), instead
    of queueing behind that transaction and then behind every other agent queued on the row.
    A lead freed by a transaction still committing is thus refused, as the caller saw it."""
    skip_busy = bulk.is_postgres(session)
    order = [LeadStatus.AVAILABLE.value, LeadStatus.HELD.value]
    if seen_status == LeadStatus.HELD.value:
        order.reverse()
    params = {LEAD: lead_id, ACCOUNT: account_id, UNTIL: until, VISIBLE_BEFORE: visible_before}
    windowed = visible_before is not None
    for before in order:
        shape = ("take_hold", before, windowed, skip_busy)
        if await _move(
            session,
            _taking(before, windowed=windowed, skip_busy=skip_busy),
            before=before,
            after=LeadStatus.HELD.value,
            cause="hold",
            now=now,
            params=params,
            shape=shape,
            along=along,
            last_write=last_write,
        ):
            return True
    return False


@functools.cache
def _taking(before: str, *, windowed: bool, skip_busy: bool) -> Update:
    """`take_hold`'s UPDATE from `before` (available, or held by a lapsed hold), its values
    bound by name (LEAD, ACCOUNT, UNTIL, NOW, VISIBLE_BEFORE when `windowed`): built once."""
    now = bindparam(NOW, type_=leads.c.updated_at.type)
    free = (
        leads.c.status == LeadStatus.AVAILABLE.value
        if before == LeadStatus.AVAILABLE.value
        else _lapsed(now)
    )
    conds = [leads.c.id == bindparam(LEAD), free]
    if windowed:
        conds.append(leads.c.published_at <= bindparam(VISIBLE_BEFORE))
    if skip_busy:
        # An uncorrelated subquery (an InitPlan, run once) locking the row as the UPDATE
        # would (FOR NO KEY UPDATE), or yielding nothing when another transaction has it.
        unlocked = (
            select(leads.c.id)
            .where(*conds)
            .with_for_update(skip_locked=True, key_share=True)
            .scalar_subquery()
        )
        conds.append(leads.c.id == unlocked)
    return (
        update(leads)
        .where(*conds)
        .values(
            status=LeadStatus.HELD.value,
            held_by=bindparam(ACCOUNT),
            held_until=bindparam(UNTIL),
            updated_at=now,
        )
    )


async def extend_hold(
    session: AsyncSession, lead_id: int, *, account_id: int, until: datetime, now: datetime
) -> bool:
    """Move the end of the account's live hold on the lead to `until`; False when the account
    holds it no longer (released, lapsed, or someone else's)."""
    stmt = (
        update(leads)
        .where(
            leads.c.id == lead_id,
            leads.c.status == LeadStatus.HELD.value,
            leads.c.held_by == account_id,
            leads.c.held_until > now,
        )
        .values(held_until=until, updated_at=now)
    )
    return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def release_hold(
    session: AsyncSession,
    lead_id: int,
    *,
    account_id: int,
    now: datetime,
    cause: str,
    along: Along | None = None,
    last_write: bool = False,
) -> bool:
    """Free the lead if the account holds it (even if the hold lapsed and no sweeper has run);
    False when it does not. `along`: the caller's records of the release, written only if it
    happens (see `Along`). `last_write`: the caller's transaction writes nothing more before
    its commit (see `_move`)."""
    moved = await _move(
        session,
        _releasing(),
        before=LeadStatus.HELD.value,
        after=LeadStatus.AVAILABLE.value,
        cause=cause,
        now=now,
        params={LEAD: lead_id, ACCOUNT: account_id},
        shape="release_hold",
        along=along,
        last_write=last_write,
    )
    return bool(moved)


@functools.cache
def _releasing() -> Update:
    """`release_hold`'s UPDATE, its values bound by name (LEAD, ACCOUNT, NOW): built once."""
    return (
        update(leads)
        .where(
            leads.c.id == bindparam(LEAD),
            leads.c.status == LeadStatus.HELD.value,
            leads.c.held_by == bindparam(ACCOUNT),
        )
        .values(
            status=LeadStatus.AVAILABLE.value,
            held_by=None,
            held_until=None,
            updated_at=bindparam(NOW, type_=leads.c.updated_at.type),
        )
    )


async def expire_holds(session: AsyncSession, *, now: datetime, limit: int = 1000) -> list[int]:
    """The sweeper's tidying: store the leads whose hold lapsed as available again (readers
    already see them so). Returns the lead ids changed, ascending, at most `limit` per call.

    Two statements for the batch, not one UPDATE per lead: the batch read and locked in id order
    (FOR UPDATE, PostgreSQL), the order a bulk hold takes its leads in, so the sweeper and a bulk
    hold retaking lapsed leads cannot deadlock; then one conditional UPDATE of them (with its
    history on PostgreSQL), so a lead retaken meanwhile is left alone. (Not one statement: a
    locking subquery inside the UPDATE may be re-run per row, and a re-run skips the rows the
    UPDATE already changed and locks the next ones: more than `limit` rows.)"""
    batch = select(leads.c.id).where(_lapsed(now)).order_by(leads.c.id).limit(limit)
    ids = list((await session.scalars(batch.with_for_update())).all())
    if not ids:
        return []
    stmt = (
        update(leads)
        .where(leads.c.id.in_(ids), _lapsed(now))
        .values(status=LeadStatus.AVAILABLE.value, held_by=None, held_until=None, updated_at=now)
    )
    held, available = LeadStatus.HELD.value, LeadStatus.AVAILABLE.value
    rows = await _move(session, stmt, before=held, after=available, cause="hold expired", now=now)
    return sorted(r.id for r in rows)


async def sell(session: AsyncSession, lead_id: int, *, account_id: int, now: datetime) -> bool:
    """Mark the lead sold to the account that paid for it: if the account holds it (its hold
    may have lapsed while it paid, as long as nobody else took the lead), or nobody holds it and
    it is available. False when another agent holds it live, or it left the market or was sold.
    `sell_many` of one lead; the unique purchase per lead is the database's last guard."""
    return bool(await sell_many(session, [lead_id], account_id=account_id, now=now))


async def sell_many(
    session: AsyncSession, lead_ids: Sequence[int], *, account_id: int, now: datetime
) -> set[int]:
    """`sell` for several leads bought together, set-based: at most two conditional UPDATEs
    (the leads the account holds; then the free ones among the rest) and one history insert,
    whatever their number (the history written by the same statements on PostgreSQL). Returns
    the ids sold; the others are held live by another agent, off the market, or sold."""
    if not lead_ids:
        return set()
    mine = and_(leads.c.status == LeadStatus.HELD.value, leads.c.held_by == account_id)
    free = or_(leads.c.status == LeadStatus.AVAILABLE.value, _lapsed(now))
    sold: set[int] = set()
    rest = sorted(set(lead_ids))
    for before, cond in ((LeadStatus.HELD.value, mine), (LeadStatus.AVAILABLE.value, free)):
        stmt = (
            update(leads)
            .where(leads.c.id.in_(rest), cond)
            .values(status=LeadStatus.SOLD.value, held_by=None, held_until=None, updated_at=now)
        )
        after = LeadStatus.SOLD.value
        done = await _move(session, stmt, before=before, after=after, cause="purchase", now=now)
        sold.update(r.id for r in done)
        rest = [i for i in rest if i not in sold]
        if not rest:
            break
    return sold


async def add_prices(session: AsyncSession, observations: Sequence[Mapping[str, Any]]) -> None:
    """Append asking-price observations: {lead_id, source, asking_price_cents, currency,
    observed_at}. The same observation twice (two runs racing over one file) is recorded once."""
    if not observations:
        return
    if len(observations) > _COPY_FROM and bulk.is_postgres(session):
        staged = await bulk.stage(session, price_history, list(observations[0]), observations)
        stmt = postgresql.insert(price_history).from_select(
            [c.name for c in staged.c], select(*staged.c)
        )
        await session.execute(stmt.on_conflict_do_nothing())
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(insert(price_history).on_conflict_do_nothing(), list(observations))


# --- scores: the learned model's (aiqleads score) ----------------------------------------------


async def set_scores(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, now: datetime
) -> int:
    """Store scores and the prices made from them: rows of {lead_id, score (a probability in
    [0, 1]), model_version (the registered model that made it, at most 40 characters),
    score_bucket ("A"/"B"/"C", leads.scores: by rank in the lead's territory), score_reasons
    (list of {feature, text, direction, preview, buyer}: `scoring.reasons.top_reasons`),
    price_cents (> 0) and price_factors (leads.pricing.PriceFactors.as_dict())}. The data
    version of every metro touched is bumped, as for any write. Leads are updated in id order.
    Returns how many leads were updated (an unknown id is skipped). Raises ValueError on a
    score that is not a finite number in [0, 1], an empty or too long model version, an
    unknown bucket, a price that is not a positive integer, or a lead given twice, before
    anything is written."""
    if not rows:
        return 0
    seen: set[int] = set()
    params: list[dict[str, Any]] = []
    for r in sorted(rows, key=lambda r: int(r["lead_id"])):
        lead_id, score, version = int(r["lead_id"]), float(r["score"]), str(r["model_version"])
        if not 0.0 <= score <= 1.0:  # also refuses NaN
            raise ValueError(f"lead {lead_id}: score {score} is not a probability in [0, 1]")
        if not version or len(version) > 40:
            raise ValueError(f"lead {lead_id}: model version {version!r} empty or over 40 chars")
        if r["score_bucket"] not in BUCKET_LABELS:
            raise ValueError(f"lead {lead_id}: unknown score bucket {r['score_bucket']!r}")
        price = r["price_cents"]
        if not isinstance(price, int) or isinstance(price, bool) or price <= 0:
            raise ValueError(f"lead {lead_id}: price {price!r} is not a positive integer of cents")
        if lead_id in seen:
            raise ValueError(f"lead {lead_id} given twice")
        seen.add(lead_id)
        params.append(
            {
                "p_id": lead_id,
                "p_score": score,
                "p_bucket": r["score_bucket"],
                "p_version": version,
                "p_reasons": list(r["score_reasons"]),
                "p_price": price,
                "p_factors": dict(r["price_factors"]),
                "p_now": now,
            }
        )
    stored = await _stored_by_id(session, seen)
    stmt = (
        update(leads)
        .where(leads.c.id == bindparam("p_id"))
        .values(
            score=bindparam("p_score"),
            score_bucket=bindparam("p_bucket"),
            model_version=bindparam("p_version"),
            score_reasons=bindparam("p_reasons", type_=leads.c.score_reasons.type),
            price_cents=bindparam("p_price"),
            price_factors=bindparam("p_factors", type_=leads.c.price_factors.type),
            updated_at=bindparam("p_now"),
        )
    )
    known = [p for p in params if p["p_id"] in stored]
    if known:
        await session.execute(stmt, known)
        await versions.bump(session, {s.metro for s in stored.values()}, now=now)
    return len(known)


CONTACT_COLUMNS = ("owner_name_enc", "owner_phone_enc", "owner_email_enc", "contacts_enc")


async def reencrypt_contacts(
    session: AsyncSession, reencrypt: Callable[[Any], Any], *, after_id: int, limit: int
) -> reencryption.Page:
    """Rewrite the encrypted owner contact of up to `limit` leads after `after_id` (id order)
    with `reencrypt` (a stored value → the value under the key ring's first key). No data
    version moves: what any answer shows is unchanged."""
    return await reencryption.rewrite_page(
        session, leads, CONTACT_COLUMNS, reencrypt, after_id=after_id, limit=limit
    )
