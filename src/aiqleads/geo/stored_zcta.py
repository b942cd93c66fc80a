"""Derive the stored `leads.zcta` of leads already in the database, in chunks.

The write path (`leads.writes`) sets a lead's ZCTA whenever it stores a location; this is for
leads stored before that (migration 0040's backfill) or after the ZIP polygon files change
(`aiqleads geo rederive-zcta`). Plain SQL on a synchronous connection, so that a migration and
the command run the same code.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.geo.boundaries import zcta_of_points
from aiqleads.leads import versions

CHUNK = 50_000  # leads read, placed and written per round


def rederive(conn: Connection, *, chunk: int = CHUNK) -> Counter[str | None]:
    """Set `zcta` of every located lead to the ZCTA holding its point (NULL outside every
    polygon), reading leads in id order `chunk` at a time (keyset on id) and writing only the
    rows whose value changes. Runs in the caller's transaction; returns how many rows changed
    per metro (None: outside every metro).

    Each changed row is an UPDATE of `leads`, so migration 0040's tally trigger moves the
    lead's count to its new key; a caller that rewrites the tallies itself drops that trigger
    first (the migration does)."""
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        write = text(
            "UPDATE leads AS l SET zcta = v.z"
            " FROM unnest(CAST(:ids AS bigint[]), CAST(:zs AS varchar[])) AS v(id, z)"
            " WHERE l.id = v.id"
        )
    else:
        write = text("UPDATE leads SET zcta = :z WHERE id = :id")
    read = text(
        "SELECT id, latitude, longitude, zcta, metro FROM leads"
        " WHERE latitude IS NOT NULL AND longitude IS NOT NULL AND id > :after"
        " ORDER BY id LIMIT :n"
    ).bindparams(bindparam("after"), bindparam("n"))
    changed: Counter[str | None] = Counter()
    after = 0
    while True:
        rows = conn.execute(read, {"after": after, "n": chunk}).all()
        if not rows:
            return changed
        after = int(rows[-1][0])
        zctas = zcta_of_points([float(r[1]) for r in rows], [float(r[2]) for r in rows])
        moved = [(int(r[0]), z, r[4]) for r, z in zip(rows, zctas, strict=True) if z != r[3]]
        if not moved:
            continue
        if postgres:
            conn.execute(write, {"ids": [m[0] for m in moved], "zs": [m[1] for m in moved]})
        else:
            conn.execute(write, [{"id": m[0], "z": m[1]} for m in moved])
        changed.update(m[2] for m in moved)


async def rederive_all(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime, chunk: int = CHUNK
) -> Counter[str | None]:
    """`rederive` in one transaction, bumping the data version of every metro with a changed
    lead (admins' cached ZIP answers then recompute). Returns the changes per metro.

    The changed leads stay locked until the commit (a hold on one of them waits): after a ZIP
    file changes few leads move, but run it off-peak."""
    async with transaction(sessions) as session:
        conn = await session.connection()
        changed = await conn.run_sync(lambda c: rederive(c, chunk=chunk))
        if changed:
            await versions.bump(session, list(changed), now=now)
    return changed
