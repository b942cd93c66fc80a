"""All SQL of the features domain: the leads' facts and the market around them, and the
feature store. (Events are read through `aiqleads.events.repository`, which owns the log.)"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

import numpy as np
from sqlalchemy import Row, Select, Table, and_, func, null, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from aiqleads.features.facts import LeadFacts
from aiqleads.features.geospatial import FloatArray, Places
from aiqleads.kit.distance import degree_box
from aiqleads.leads.filters import OUTSIDE_METROS
from aiqleads.leads.status import OFFERED
from aiqleads.market.service import snapshot_instant
from aiqleads.models import DataVersion, FeatureValue, Lead
from aiqleads.models.enums import GeocodePrecision

leads = cast(Table, Lead.__table__)
store = cast(Table, FeatureValue.__table__)
versions = cast(Table, DataVersion.__table__)

T = TypeVar("T")

CHUNK = 5000  # ids per IN list: far below SQLite's and asyncpg's bind limits

_FACTS = (
    leads.c.bedrooms,
    leads.c.bathrooms,
    leads.c.living_area_sqft,
    leads.c.lot_sqft,
    leads.c.year_built,
)
_PLACE = (
    leads.c.id,
    leads.c.latitude,
    leads.c.longitude,
    leads.c.kind,
    leads.c.asking_price_cents,
    leads.c.h3_r8,
    leads.c.geocode_precision,
    or_(leads.c.listing_agent.is_not(None), leads.c.listing_office.is_not(None)).label("listed"),
    leads.c.metro,
)
_OWN = (
    (leads.c.owner_name_enc.is_not(None)).label("has_name"),
    (leads.c.owner_phone_enc.is_not(None)).label("has_phone"),
    (leads.c.owner_email_enc.is_not(None)).label("has_email"),
    *(c.is_not(None).label(f"known_{c.name}") for c in _FACTS),
    (leads.c.property_type.is_not(None)).label("has_type"),
    leads.c.listed_at,
    leads.c.first_seen_at,
    leads.c.published_at,
)


def _market() -> ColumnElement[bool]:
    return leads.c.status.in_([s.value for s in OFFERED])


@dataclass(frozen=True, slots=True)
class LeadInputs:
    """The leads asked for, in id order: their facts, their places, their (ZIP, metro slug)
    and, when asked for, their stored values of one feature set ({} for a lead without)."""

    facts: list[LeadFacts]
    places: Places
    regions: list[tuple[str | None, str | None]]
    stored: list[dict[str, float]]
    snapshots: list[tuple[float | None, float | None]]
    """Instants (Unix seconds) of the stored context snapshots of the lead's ZIP and metro for
    the month asked (`snapshots_at`), None where there is none (or none was asked)."""


def _places(rows: Sequence[Row[Any]]) -> Places:
    # Column by column from plain lists: a few thousand rows per online call, so no per-row
    # numpy scalar work.
    n = len(rows)
    cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if n else [()] * len(_PLACE)
    ids, lat, lon, kind, price, cell, precision, listed, metro = cols[: len(_PLACE)]
    exact = GeocodePrecision.EXACT.value
    return Places(
        ids=np.array(ids, dtype=np.int64).reshape(n),
        lat=np.array([math.nan if v is None else v for v in lat], dtype=np.float64).reshape(n),
        lon=np.array([math.nan if v is None else v for v in lon], dtype=np.float64).reshape(n),
        # The driver makes a new string per row: one shared copy of each of the few kinds and
        # metros saves ~100 MB for every million places.
        kind=[sys.intern(k) for k in kind],
        price_usd=np.array(
            [math.nan if v is None else v / 100.0 for v in price], dtype=np.float64
        ).reshape(n),
        cell=np.array([-1 if v is None else v for v in cell], dtype=np.int64).reshape(n),
        approximate=np.array([v != exact for v in precision], dtype=bool).reshape(n),
        listed=np.array([bool(v) for v in listed], dtype=bool).reshape(n),
        scope=[sys.intern(m) if m else OUTSIDE_METROS for m in metro],
    )


async def lead_inputs(
    session: AsyncSession,
    lead_ids: Sequence[int] | None,
    *,
    stored: tuple[str, str] | None = None,
    snapshots_at: datetime | None = None,
) -> LeadInputs:
    """Facts and places of the given leads (every lead when None), ordered by id; ids that do
    not exist are left out. With `stored` = (feature set, version), each lead's values of that
    set in the feature store too, in the same read (a join on the store's unique key); with
    `snapshots_at`, the instants of its ZIP's and metro's context snapshots for that month
    (`market.service.snapshot_instant`)."""
    if snapshots_at is None:
        instants = (null().label("zip_snapshot"), null().label("metro_snapshot"))
    else:
        instants = (
            snapshot_instant("zip", leads.c.zip_code, snapshots_at).label("zip_snapshot"),
            snapshot_instant("metro", leads.c.metro, snapshots_at).label("metro_snapshot"),
        )
    stmt = select(*_PLACE, *_OWN, leads.c.zip_code, _stored_values(stored), *instants)
    if stored is not None:
        feature_set, version = stored
        stmt = stmt.select_from(
            leads.outerjoin(
                store,
                and_(
                    store.c.entity_kind == "lead",
                    store.c.entity_id == leads.c.id,
                    store.c.feature_set == feature_set,
                    store.c.version == version,
                ),
            )
        )
    rows = await _by_id(session, stmt, lead_ids)
    facts = [
        LeadFacts(
            kind=r.kind,
            has_owner_name=bool(r.has_name),
            has_owner_phone=bool(r.has_phone),
            has_owner_email=bool(r.has_email),
            facts_present=sum(bool(getattr(r, f"known_{c.name}")) for c in _FACTS),
            has_property_type=bool(r.has_type),
            asking_price_cents=r.asking_price_cents,
            geocode_precision=r.geocode_precision,
            listed_at=r.listed_at,
            first_seen_at=r.first_seen_at,
            published_at=r.published_at,
        )
        for r in rows
    ]
    return LeadInputs(
        facts,
        _places(rows),
        [(r.zip_code or None, r.metro or None) for r in rows],
        [{str(k): float(v) for k, v in (r.stored_values or {}).items()} for r in rows],
        [(r.zip_snapshot, r.metro_snapshot) for r in rows],
    )


async def lead_places(session: AsyncSession, lead_ids: Sequence[int] | None) -> Places:
    """The places of the given leads (every lead when None), ordered by id; ids that do not
    exist are left out. What the "lead_geo" set needs of them: a column per field, where
    `lead_inputs` also makes an object per lead for its facts."""
    if lead_ids is None:
        return await _paged_places(session, select(*_PLACE))
    return _places(await _by_id(session, select(*_PLACE), lead_ids))


# Rows per read when every lead, or the whole market, is read: the hourly "lead_geo" build
# read a million rows in one list (asyncpg's records and SQLAlchemy's rows over them, near a
# kilobyte a lead), the largest thing in the worker's memory.
PAGE = 50_000


async def _paged_places(session: AsyncSession, stmt: Select[Any]) -> Places:
    """The places of every row of `stmt` (a select of `_PLACE` from `leads`), in id order."""
    return Places.concat(await _paged(session, stmt, _places))


async def _paged(
    session: AsyncSession, stmt: Select[Any], each: Callable[[Sequence[Row[Any]]], T]
) -> list[T]:
    """`each` of every page of `stmt`'s rows (a select from `leads` that names `leads.id`), in
    id order, `PAGE` rows a page by keyset (each page as of its own read)."""
    parts: list[T] = []
    after: int | None = None
    while True:
        page = stmt.order_by(leads.c.id).limit(PAGE)
        if after is not None:
            page = page.where(leads.c.id > after)
        rows = (await session.execute(page)).all()
        if rows:
            parts.append(each(rows))
            after = int(rows[-1].id)
        if len(rows) < PAGE:
            return parts


async def _by_id(
    session: AsyncSession, stmt: Select[Any], lead_ids: Sequence[int] | None
) -> list[Row[Any]]:
    """The rows of `stmt` (a select from `leads`) for the given leads, or every lead when
    None, in id order."""
    if lead_ids is None:
        return list((await session.execute(stmt.order_by(leads.c.id))).all())
    rows: list[Row[Any]] = []
    ordered = sorted(set(lead_ids))
    for start in range(0, len(ordered), CHUNK):
        part = ordered[start : start + CHUNK]
        rows += (await session.execute(stmt.where(leads.c.id.in_(part)))).all()
    rows.sort(key=lambda r: int(r.id))
    return rows


def _stored_values(stored: tuple[str, str] | None) -> ColumnElement[Any]:
    if stored is None:
        return null().label("stored_values")
    return store.c["values"].label("stored_values")


async def market(session: AsyncSession) -> Places:
    """Every lead of the market (`OFFERED`), ordered by id."""
    return await _paged_places(session, select(*_PLACE).where(_market()))


async def market_near(
    session: AsyncSession,
    *,
    lat: float | None,
    lon: float | None,
    radius_m: float,
    cells: Sequence[int],
) -> Places:
    """The market leads a lead can reach: those within a box holding the radius around the
    point (a superset; the features decide by exact distance) and those in the given cells,
    ordered by id. Reads the (latitude, longitude) indexes and `ix_leads_cell_published`, which
    h3_r8 leads."""
    near: list[ColumnElement[bool]] = []
    if lat is not None and lon is not None:
        # The box grown by 1 % so rounding never loses a lead at the edge of the radius.
        lat_lo, lat_hi, lon_lo, lon_hi = degree_box(lat, lon, radius_m * 1.01)
        near.append(
            and_(
                leads.c.latitude.between(lat_lo, lat_hi),
                leads.c.longitude.between(lon_lo, lon_hi),
            )
        )
    if cells:
        near.append(leads.c.h3_r8.in_(list(cells)))
    if not near:
        return _places([])
    stmt = select(*_PLACE).where(_market(), or_(*near)).order_by(leads.c.id)
    return _places((await session.execute(stmt)).all())


async def scope_points(session: AsyncSession, scope: str) -> tuple[FloatArray, FloatArray]:
    """(lat, lon) of the located market leads of one metro (or of no metro), in id order: the
    points its clusters are made of. Read a page at a time (a metro may hold a million)."""
    where = leads.c.metro.is_(None) if scope == OUTSIDE_METROS else leads.c.metro == scope
    stmt = select(leads.c.id, leads.c.latitude, leads.c.longitude).where(
        _market(), where, leads.c.latitude.is_not(None), leads.c.longitude.is_not(None)
    )

    def columns(rows: Sequence[Row[Any]]) -> FloatArray:
        return np.array([(r.latitude, r.longitude) for r in rows], dtype=np.float64).reshape(-1, 2)

    found = np.concatenate([np.empty((0, 2)), *await _paged(session, stmt, columns)])
    return found[:, 0].copy(), found[:, 1].copy()


async def scope_versions(session: AsyncSession, scopes: Sequence[str]) -> dict[str, int]:
    """The data version of each scope (leads.versions); 0 for one never written."""
    rows = await session.execute(
        select(versions.c.scope, func.sum(versions.c.version))  # summed shards (leads.versions)
        .where(versions.c.scope.in_(list(scopes)))
        .group_by(versions.c.scope)
    )
    found = {str(s): int(v) for s, v in rows}
    return {s: found.get(s, 0) for s in scopes}


# --- the feature store ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredFeatures:
    entity_kind: str
    entity_id: int
    feature_set: str
    version: str
    computed_at: datetime
    values: dict[str, float]


async def upsert(
    session: AsyncSession,
    *,
    entity_kind: str,
    feature_set: str,
    version: str,
    computed_at: datetime,
    rows: Mapping[int, Mapping[str, float]],
) -> int:
    """Write each entity's values (entity id -> {name: value}), replacing the row of the same
    entity, set and version. Returns how many rows were written."""
    if entity_kind not in ("lead", "agent"):
        raise ValueError(f"entity_kind must be 'lead' or 'agent', not {entity_kind!r}")
    insert: Any = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    stmt = insert(store)
    stmt = stmt.on_conflict_do_update(
        index_elements=["entity_kind", "entity_id", "feature_set", "version"],
        set_={"computed_at": stmt.excluded.computed_at, "values": stmt.excluded["values"]},
    )
    # One statement with a parameter set per row (executemany), compiled once: a VALUES list
    # of 1,000 rows built per batch cost about 0.1 ms of Python a row, 105 s at 1M leads.
    values = [
        {
            "entity_kind": entity_kind,
            "entity_id": entity_id,
            "feature_set": feature_set,
            "version": version,
            "computed_at": computed_at,
            "values": dict(vals),
        }
        for entity_id, vals in rows.items()
    ]
    if values:
        await session.execute(stmt, values)
    return len(values)


async def latest(
    session: AsyncSession,
    *,
    entity_kind: str,
    feature_set: str,
    entity_ids: Sequence[int],
    version: str | None = None,
) -> dict[int, StoredFeatures]:
    """Per entity, its most recently computed values of the set (of `version` when given, of
    any version otherwise); entities never computed are absent."""
    out: dict[int, StoredFeatures] = {}
    ordered = sorted(set(entity_ids))
    for start in range(0, len(ordered), CHUNK):
        stmt = select(store).where(
            store.c.entity_kind == entity_kind,
            store.c.feature_set == feature_set,
            store.c.entity_id.in_(ordered[start : start + CHUNK]),
        )
        if version is not None:
            stmt = stmt.where(store.c.version == version)
        for r in await session.execute(stmt.order_by(store.c.computed_at, store.c.id)):
            out[int(r.entity_id)] = StoredFeatures(
                r.entity_kind,
                int(r.entity_id),
                r.feature_set,
                r.version,
                r.computed_at,
                {str(k): float(v) for k, v in r.values.items()},
            )
    return out


async def count(session: AsyncSession, *, feature_set: str, version: str) -> int:
    """How many entities have values of the set at the version."""
    stmt = select(func.count()).where(
        store.c.feature_set == feature_set, store.c.version == version
    )
    return int((await session.execute(stmt)).scalar_one())


async def lead_zip_metro(
    session: AsyncSession, lead_ids: Sequence[int]
) -> dict[int, tuple[str | None, str | None]]:
    """The (ZIP, metro slug) of each given lead; ids that do not exist are absent."""
    out: dict[int, tuple[str | None, str | None]] = {}
    ordered = sorted(set(lead_ids))
    for start in range(0, len(ordered), CHUNK):
        rows = await session.execute(
            select(leads.c.id, leads.c.zip_code, leads.c.metro).where(
                leads.c.id.in_(ordered[start : start + CHUNK])
            )
        )
        out.update({int(i): (z or None, m or None) for i, z, m in rows})
    return out
