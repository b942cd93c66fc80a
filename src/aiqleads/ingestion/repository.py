"""All SQL of ingestion. SQLite and PostgreSQL differ only here (proximity and upserts)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.db import bulk
from aiqleads.db import reencrypt as reencryption
from aiqleads.db.keys import key_groups, one_of
from aiqleads.ingestion.batch import Known, QuarantineEntry
from aiqleads.kit.distance import degree_box
from aiqleads.models import Lead, LeadSource, Quarantine

leads = cast(Table, Lead.__table__)
sources = cast(Table, LeadSource.__table__)
quarantine = cast(Table, Quarantine.__table__)

# Bound parameters per statement stay far below SQLite's 32,766 and asyncpg's 32,767.
_CHUNK = 1000
_COPY_FROM = 50  # from this many rows on, PostgreSQL gets them by COPY
_POINT = ("latitude", "longitude", "geocode_precision")

Pair = tuple[str, str]  # (source, source_ref)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored lead that a new record might be another sighting of."""

    id: int
    address_key: str | None
    owner_phone_hmac: str | None
    latitude: float | None
    longitude: float | None
    geocode_precision: str
    bedrooms: int | None
    bathrooms: float | None
    asking_price_cents: int | None
    metro: str | None
    living_area_sqft: int | None
    lot_sqft: int | None
    year_built: int | None


_CANDIDATE_COLUMNS = (
    leads.c.id,
    leads.c.address_key,
    leads.c.owner_phone_hmac,
    leads.c.latitude,
    leads.c.longitude,
    leads.c.geocode_precision,
    leads.c.bedrooms,
    leads.c.bathrooms,
    leads.c.asking_price_cents,
    leads.c.metro,
    leads.c.living_area_sqft,
    leads.c.lot_sqft,
    leads.c.year_built,
)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _insert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    return (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)(table)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _by_source(pairs: Iterable[Pair]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for source, ref in pairs:
        grouped[source].append(ref)
    return grouped


def _known(row: Row[Any], *, content_hash: str | None, price: int | None, primary: bool) -> Known:
    return Known(
        lead_id=row.id,
        content_hash=content_hash,
        asking_price_cents=price,
        primary=primary,
        metro=row.metro,
        latitude=row.latitude,
        longitude=row.longitude,
        geocode_precision=row.geocode_precision,
        lead_ref=(row.source, row.source_ref),
    )


async def known_for(session: AsyncSession, pairs: Iterable[Pair]) -> dict[Pair, Known]:
    """The stored lead of each (source, source_ref): by provenance, else by the lead's own key."""
    found: dict[Pair, Known] = {}
    point_cols = [leads.c[c] for c in _POINT]
    lead_cols = (leads.c.id, leads.c.metro, leads.c.source, leads.c.source_ref, *point_cols)
    grouped = _by_source(pairs)
    for source, refs in grouped.items():
        for chunk in key_groups(session, refs):
            stmt = (
                select(sources.c.source_ref.label("ref"), sources.c.content_hash)
                .add_columns(sources.c.asking_price_cents.label("seen_price"), *lead_cols)
                .join(leads, leads.c.id == sources.c.lead_id)
                .where(
                    sources.c.source == source,
                    one_of(session, sources.c.source_ref, chunk),
                )
            )
            for row in await session.execute(stmt):
                primary = (row.source, row.source_ref) == (source, row.ref)
                found[(source, row.ref)] = _known(
                    row, content_hash=row.content_hash, price=row.seen_price, primary=primary
                )
    missing = _by_source(p for p in _pairs(grouped) if p not in found)
    for source, refs in missing.items():
        for chunk in key_groups(session, refs):
            lead_stmt = select(*lead_cols, leads.c.asking_price_cents).where(
                leads.c.source == source, one_of(session, leads.c.source_ref, chunk)
            )
            for row in await session.execute(lead_stmt):
                found[(source, row.source_ref)] = _known(
                    row, content_hash=None, price=row.asking_price_cents, primary=True
                )
    return found


def _pairs(grouped: dict[str, list[str]]) -> Iterable[Pair]:
    return ((s, r) for s, refs in grouped.items() for r in refs)


async def stored_keys(session: AsyncSession, pairs: Iterable[Pair]) -> set[Pair]:
    """Which of these (source, source_ref) are a stored lead's own key."""
    found: set[Pair] = set()
    for source, refs in _by_source(pairs).items():
        for chunk in key_groups(session, sorted(set(refs))):
            stmt = select(leads.c.source_ref).where(
                leads.c.source == source, one_of(session, leads.c.source_ref, chunk)
            )
            found.update((source, ref) for ref in (await session.scalars(stmt)).all())
    return found


# The columns the batch queries above look leads and their provenance up by, join on, filter on
# or group by.
_LOOKED_UP = {
    "leads": (
        "id",
        "source",
        "source_ref",
        "address_key",
        "owner_phone_hmac",
        "description_hash",
        "city_key",
        "latitude",
        "longitude",
        "geocode_precision",
        "h3_r8",
        "asking_price_cents",
        "status",
    ),
    "lead_sources": ("lead_id", "source", "source_ref"),
}


async def refresh_statistics(session: AsyncSession) -> None:
    """PostgreSQL plans the batch queries from table statistics; during a bulk load they lag far
    behind (autovacuum analyses late), and plans made for an empty table scan a full one.

    Only the columns the batch queries use (`_LOOKED_UP`) are analysed, and with them the
    tables' row and page counts: the statistics of every column and of the expression indexes
    (then geom::geography, a spheroid point made of each sampled row, which migration 0041
    dropped) cost five times as much (1 s against 5 s at 60k leads, bench-s8/ingest);
    autovacuum analyses the rest as before."""
    if _dialect(session) == "postgresql":
        tables = ", ".join(f"{t} ({', '.join(cols)})" for t, cols in _LOOKED_UP.items())
        await session.execute(text(f"ANALYZE {tables}"))


def _candidate(row: Row[Any, *tuple[Any, ...]]) -> Candidate:
    return Candidate(*(row[i] for i in range(len(_CANDIDATE_COLUMNS))))


async def candidates_by_address(session: AsyncSession, keys: Sequence[str]) -> list[Candidate]:
    out: list[Candidate] = []
    for chunk in key_groups(session, sorted(set(keys))):
        stmt = select(*_CANDIDATE_COLUMNS).where(one_of(session, leads.c.address_key, chunk))
        out.extend(_candidate(r) for r in await session.execute(stmt))
    return out


async def candidates_by_phone(session: AsyncSession, hmacs: Sequence[str]) -> list[Candidate]:
    out: list[Candidate] = []
    for chunk in key_groups(session, sorted(set(hmacs))):
        condition = one_of(session, leads.c.owner_phone_hmac, chunk)
        stmt = select(*_CANDIDATE_COLUMNS).where(condition)
        out.extend(_candidate(r) for r in await session.execute(stmt))
    return out


_CANDIDATE_SQL = ", ".join(f"l.{c.name}" for c in _CANDIDATE_COLUMNS)
# The degree box searched around a point is this much wider than the radius on a sphere: a
# degree of latitude on the WGS 84 spheroid is as short as 110.57 km (at the equator) where the
# sphere's is 111.19 km, 0.6 % longer, so the box must hold a circle measured on the spheroid.
_BOX_MARGIN = 1.02
# The box is searched on ix_leads_lat_lon in a subquery that OFFSET 0 keeps apart (the planner
# could otherwise test the distance first), and the exact test on the spheroid runs on the
# box's few leads.
_NEAR_BY_BOX = (
    f"SELECT p.i, {_CANDIDATE_SQL} FROM unnest(CAST(:idx AS int[]),"  # noqa: S608
    " CAST(:lat AS float8[]), CAST(:lon AS float8[]), CAST(:lat_lo AS float8[]),"
    " CAST(:lat_hi AS float8[]), CAST(:lon_lo AS float8[]), CAST(:lon_hi AS float8[]))"
    " AS p(i, lat, lon, lat_lo, lat_hi, lon_lo, lon_hi)"
    f" CROSS JOIN LATERAL (SELECT {_CANDIDATE_SQL}, l.geom FROM leads l"
    " WHERE l.latitude BETWEEN p.lat_lo AND p.lat_hi"
    " AND l.longitude BETWEEN p.lon_lo AND p.lon_hi"
    " AND l.geocode_precision = 'exact' OFFSET 0) AS l"
    " WHERE ST_DWithin(l.geom::geography,"
    " ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geography, :radius)"
)


async def candidates_near(
    session: AsyncSession, points: Sequence[tuple[int, float, float]], radius_m: float
) -> list[tuple[int, Candidate]]:
    """(point index, stored lead with an exact point within radius_m) for each point given.

    PostgreSQL answers with ST_DWithin on geography (on the spheroid) among the leads of a
    degree box around each point, found on ix_leads_lat_lon (a search of a GiST index on
    geom::geography cost 58 µs of server CPU per point at 100k leads, the box a fraction of
    that: bench-s8/ingest; migration 0041 dropped that index); near a pole or the
    antimeridian the box is a band around the globe (`degree_box`). SQLite answers with a
    degree box per point on ix_leads_lat_lon, which the caller narrows by haversine.
    """
    out: list[tuple[int, Candidate]] = []
    if _dialect(session) == "postgresql":
        boxes: list[tuple[int, float, float, tuple[float, float, float, float]]] = []
        for i, lat, lon in points:
            boxes.append((i, lat, lon, degree_box(lat, lon, radius_m * _BOX_MARGIN)))
        if not boxes:
            return out
        params: dict[str, Any] = {"radius": radius_m, "idx": [p[0] for p in boxes]}
        params.update(lat=[p[1] for p in boxes], lon=[p[2] for p in boxes])
        params.update(lat_lo=[p[3][0] for p in boxes], lat_hi=[p[3][1] for p in boxes])
        params.update(lon_lo=[p[3][2] for p in boxes], lon_hi=[p[3][3] for p in boxes])
        for row in await session.execute(text(_NEAR_BY_BOX), params):
            out.append((row[0], Candidate(*row[1:])))
        return out
    for chunk in _chunks(points):
        values, sqlite_params = [], {}
        # The statement's text depends on its row count; padded to a few sizes (with boxes
        # that hold nothing), a long run compiles and caches four statements, not hundreds
        # (SQLAlchemy's and sqlite3's statement caches keep each distinct text).
        padded = [*chunk, *[(-1, 91.0, 181.0)] * (_padded_size(len(chunk)) - len(chunk))]
        for n, (i, lat, lon) in enumerate(padded):
            box = degree_box(lat, lon, radius_m) if i >= 0 else (1.0, 0.0, 1.0, 0.0)
            values.append(f"(:i{n}, :a{n}, :b{n}, :c{n}, :d{n})")
            sqlite_params.update({f"i{n}": i, f"a{n}": box[0], f"b{n}": box[1]})
            sqlite_params.update({f"c{n}": box[2], f"d{n}": box[3]})
        stmt = text(
            f"WITH p(i, lat_lo, lat_hi, lon_lo, lon_hi) AS (VALUES {', '.join(values)})"  # noqa: S608
            f" SELECT p.i, {_CANDIDATE_SQL} FROM p JOIN leads l INDEXED BY ix_leads_lat_lon"
            " ON l.latitude BETWEEN p.lat_lo AND p.lat_hi"
            " AND l.longitude BETWEEN p.lon_lo AND p.lon_hi"
            " WHERE l.geocode_precision = 'exact'"
        )
        for row in await session.execute(stmt, sqlite_params):
            out.append((row[0], Candidate(*row[1:])))
    return out


def _padded_size(n: int) -> int:
    return next(size for size in (16, 64, 256, _CHUNK) if n <= size)


async def upsert_sources(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Provenance rows, inserted or updated by (source, source_ref); on PostgreSQL from a
    COPY-filled staging table in one statement."""
    if not rows:
        return
    stmt = _insert(session, sources)
    staged = None
    if bulk.is_postgres(session) and len(rows) > _COPY_FROM:
        staged = await bulk.stage(session, sources, list(rows[0]), rows)
        stmt = stmt.from_select([c.name for c in staged.c], select(*staged.c))
    stmt = stmt.on_conflict_do_update(
        index_elements=["source", "source_ref"],
        set_={
            c: stmt.excluded[c]
            for c in (
                "lead_id",
                "source_url",
                "content_hash",
                "asking_price_cents",
                "match_rule",
                "last_seen_at",
            )
        },
    )
    if staged is not None:
        await session.execute(stmt)
    else:
        await session.execute(stmt, list(rows))


# --- quarantine --------------------------------------------------------------------------------


async def add_quarantine(
    session: AsyncSession,
    entries: Sequence[tuple[QuarantineEntry, str]],
    *,
    metro: str | None,
    now: datetime,
) -> None:
    """New rows; the same bad input seen again (same payload hash) adds nothing."""
    if not entries:
        return
    rows = [
        {
            "source": e.source[:32],
            "source_ref": e.source_ref[:128] if e.source_ref else None,
            "metro": metro,
            "stage": e.stage,
            "reason": e.reason,
            "reasons": e.reasons,
            "raw": e.raw,
            "payload_hash": digest,
            "attempts": 1,
            "created_at": now,
            "retried_at": None,
            "resolved_at": None,
        }
        for e, digest in entries
    ]
    await session.execute(_insert(session, quarantine).on_conflict_do_nothing(), rows)


async def record_retry_failures(
    session: AsyncSession, entries: Sequence[QuarantineEntry], *, now: datetime
) -> None:
    if not entries:
        return
    stmt = (
        update(quarantine)
        .where(quarantine.c.id == bindparam("q_id"))
        .values(
            attempts=quarantine.c.attempts + 1,
            reasons=bindparam("q_reasons", type_=quarantine.c.reasons.type),
            reason=bindparam("q_reason"),
            stage=bindparam("q_stage"),
            retried_at=bindparam("q_now", type_=quarantine.c.retried_at.type),
        )
    )
    params = [
        {
            "q_id": e.retry_of,
            "q_reasons": e.reasons,
            "q_reason": e.reason,
            "q_stage": e.stage,
            "q_now": now,
        }
        for e in entries
    ]
    await session.execute(stmt, params)


async def resolve_quarantine(session: AsyncSession, ids: Sequence[int], *, now: datetime) -> None:
    for chunk in _chunks(sorted(ids)):
        await session.execute(
            update(quarantine)
            .where(quarantine.c.id.in_(chunk))
            .values(resolved_at=now, retried_at=now)
        )


async def list_quarantine(
    session: AsyncSession,
    *,
    source: str | None = None,
    reason: str | None = None,
    row_id: int | None = None,
    include_resolved: bool = False,
    limit: int | None = None,
    after_id: int | None = None,
) -> list[Quarantine]:
    stmt = select(Quarantine).order_by(Quarantine.id)
    if after_id is not None:
        stmt = stmt.where(Quarantine.id > after_id)
    if source is not None:
        stmt = stmt.where(Quarantine.source == source)
    if reason is not None:
        stmt = stmt.where(Quarantine.reason == reason)
    if row_id is not None:
        stmt = stmt.where(Quarantine.id == row_id)
    if not include_resolved:
        stmt = stmt.where(Quarantine.resolved_at.is_(None))
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await session.scalars(stmt)).all())


# --- screening ---------------------------------------------------------------------------------

_SALE_KINDS = ("fsbo", "for_sale", "expired")


async def prices_in_cells(
    session: AsyncSession, cells_r8: Sequence[int]
) -> list[tuple[int, str, int]]:
    """(h3_r8, kind, asking price) of the stored leads with a price in these resolution-8
    cells (the caller asks for the children of the resolution-7 cells it screens: h3_r8 is
    indexed, h3_r7 is not). Withheld leads are no comparables."""
    out: list[tuple[int, str, int]] = []
    for chunk in key_groups(session, sorted(set(cells_r8))):
        stmt = select(leads.c.h3_r8, leads.c.kind, leads.c.asking_price_cents).where(
            one_of(session, leads.c.h3_r8, chunk),
            leads.c.asking_price_cents.is_not(None),
            leads.c.status != "withheld",
        )
        out.extend((r[0], r[1], r[2]) for r in await session.execute(stmt))
    return out


async def phone_spread(
    session: AsyncSession, hmacs: Sequence[str]
) -> dict[str, dict[str | None, int]]:
    """For each owner phone (blind index): its stored listings counted per city key."""
    out: dict[str, dict[str | None, int]] = defaultdict(dict)
    for chunk in key_groups(session, sorted(set(hmacs))):
        stmt = (
            select(leads.c.owner_phone_hmac, leads.c.city_key, func.count())
            .where(one_of(session, leads.c.owner_phone_hmac, chunk))
            .group_by(leads.c.owner_phone_hmac, leads.c.city_key)
        )
        for hmac, city, n in await session.execute(stmt):
            out[hmac][city] = int(n)
    return out


async def text_spread(
    session: AsyncSession, hashes: Sequence[str]
) -> dict[str, dict[str | None, int]]:
    """For each description fingerprint: its stored listings counted per city key."""
    out: dict[str, dict[str | None, int]] = defaultdict(dict)
    for chunk in key_groups(session, sorted(set(hashes))):
        stmt = (
            select(leads.c.description_hash, leads.c.city_key, func.count())
            .where(one_of(session, leads.c.description_hash, chunk))
            .group_by(leads.c.description_hash, leads.c.city_key)
        )
        for digest, city, n in await session.execute(stmt):
            out[digest][city] = int(n)
    return out


async def reseal_quarantine(
    session: AsyncSession, reseal: Callable[[Any], Any], *, after_id: int, limit: int
) -> reencryption.Page:
    """Rewrite the stored payload of up to `limit` quarantine rows after `after_id` with
    `reseal` (a stored payload, sealed or from before sealing → sealed under the first key)."""
    return await reencryption.rewrite_page(
        session, quarantine, ("raw",), reseal, after_id=after_id, limit=limit
    )
