"""One owner for the Lead: the preview location, listing status, status history, random ids.

* `preview_latitude` / `preview_longitude`: the centre of the lead's H3 resolution-8 cell, from
  which every answer to an agent who has not bought the lead is computed (on PostgreSQL also a
  generated `preview_geom` with GiST indexes); `h3_r7` becomes the parent of `h3_r8` and `metro`
  the metro of the cell's centre, so neither moves when the exact point moves inside its cell;
* `score_bucket`: what agents see of the score, stored so the catalog can sort by it;
* `city_key`: the case-insensitive key the catalog's city filter matches ("McKinney");
* `listing_status`: the source's status in RESO StandardStatus terms, and the `pending` lead
  status for listings under contract;
* `lead_status_history`: every status a lead took, and why;
* public ids become random (they were uuid5 of the source and its id, which anyone could
  compute from a public record); every sort order ends with the public id, never the row id.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import uuid
from typing import Any

import h3
import sqlalchemy as sa
from alembic import op

# The one definition of each derived value; a later change to them is a migration of its own.
from aiqleads.kit.places import city_key
from aiqleads.metros import metro_for_point

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OLD_STATUSES = "'new', 'available', 'held', 'sold', 'withdrawn', 'expired', 'returned'"
_NEW_STATUSES = "'new', 'available', 'held', 'pending', 'sold', 'withdrawn', 'expired', 'returned'"
_BUCKETS = ((0.75, "A"), (0.5, "B"), (0.25, "C"), (0.0, "D"))  # leads.present at 0006
_BATCH = 5000
# The columns the backfill derives for every stored lead (besides a new random public id).
_DERIVED = (
    "city_key",
    "score_bucket",
    "h3_r7",
    "h3_r8",
    "preview_latitude",
    "preview_longitude",
    "metro",
)
# (name, columns) of the sort-order indexes, old and new tie-breaker.
_SORT_INDEXES = (
    ("ix_leads_status_price", ("status", "price_cents")),
    ("ix_leads_status_asking", ("status", "asking_price_cents")),
    ("ix_leads_zip_published", ("zip_code", "published_at")),
)
# What the PostgreSQL catalog index covers (see 0004): the preview point replaces nothing, the
# exact one stays for admins.
_COVERED = "preview_geom, geom, asking_price_cents, bedrooms, bathrooms, kind"


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("leads", recreate="always" if not _is_postgres() else "auto") as b:
        b.add_column(sa.Column("listing_status", sa.String(24)))
        b.add_column(sa.Column("city_key", sa.String(100)))
        b.add_column(sa.Column("preview_latitude", sa.Float()))
        b.add_column(sa.Column("preview_longitude", sa.Float()))
        b.add_column(sa.Column("score_bucket", sa.String(8)))
        b.drop_constraint("ck_leads_status", type_="check")
        b.create_check_constraint("ck_leads_status", f"status IN ({_NEW_STATUSES})")

    op.create_table(
        "lead_status_history",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column(
            "lead_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "leads.id", ondelete="CASCADE", name="fk_lead_status_history_lead_id_leads"
            ),
            nullable=False,
        ),
        sa.Column("status_from", sa.String(16)),
        sa.Column("status_to", sa.String(16), nullable=False),
        sa.Column("listing_status", sa.String(24)),
        sa.Column("cause", sa.String(48), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
    )
    op.create_index("ix_lead_status_history_lead", "lead_status_history", ["lead_id", "changed_at"])

    _backfill()

    if _is_postgres():
        op.drop_index("ix_leads_market_newest", table_name="leads")
    else:
        op.drop_index("ix_leads_status_published", table_name="leads")
    for name, cols in _SORT_INDEXES:
        op.drop_index(name, table_name="leads")
        op.create_index(name, "leads", [*cols, "public_id"])
    op.drop_index("ix_leads_city", table_name="leads")
    op.create_index("ix_leads_city_key", "leads", ["city_key"])
    op.create_index("ix_leads_status_bucket", "leads", ["status", "score_bucket", "public_id"])
    op.create_index("ix_leads_preview_lat_lon", "leads", ["preview_latitude", "preview_longitude"])
    if _is_postgres():
        op.execute(
            "ALTER TABLE leads ADD COLUMN preview_geom geometry(Point, 4326) GENERATED ALWAYS AS "
            "(CASE WHEN preview_latitude IS NOT NULL AND preview_longitude IS NOT NULL "
            "THEN ST_SetSRID(ST_MakePoint(preview_longitude, preview_latitude), 4326) END) STORED"
        )
        op.execute("CREATE INDEX ix_leads_preview_geom ON leads USING gist (preview_geom)")
        op.execute(
            "CREATE INDEX ix_leads_preview_geog ON leads USING gist ((preview_geom::geography))"
        )
        op.execute(
            "CREATE INDEX ix_leads_market_newest ON leads (status, published_at, public_id) "
            f"INCLUDE ({_COVERED})"
        )
    else:
        op.create_index(
            "ix_leads_status_published", "leads", ["status", "published_at", "public_id"]
        )


def _bucket(score: float | None) -> str | None:
    if score is None:
        return None
    return next((label for floor, label in _BUCKETS if score >= floor), "D")


def _metro_of(lat: float, lon: float) -> str | None:
    metro = metro_for_point(lat, lon)
    return None if metro is None else metro.slug


def _derived(row: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "i": row.id,
        "public_id": uuid.uuid4(),
        "city_key": city_key(row.city) if row.city else None,
        "score_bucket": _bucket(row.score),
        "h3_r7": None,
        "h3_r8": None,
        "preview_latitude": None,
        "preview_longitude": None,
        "metro": None,
    }
    if row.latitude is not None and row.longitude is not None:
        r8 = h3.latlng_to_cell(row.latitude, row.longitude, 8)
        lat, lon = h3.cell_to_latlng(r8)
        values.update(
            h3_r8=h3.str_to_int(r8),
            h3_r7=h3.str_to_int(h3.cell_to_parent(r8, 7)),
            preview_latitude=lat,
            preview_longitude=lon,
            metro=_metro_of(lat, lon),
        )
    return values


def _backfill() -> None:
    """Derive the new columns of every stored lead and start each lead's status history."""
    bind = op.get_bind()
    read = ("id", "city", "score", "latitude", "longitude")
    leads = sa.table(
        "leads",
        *(sa.column(c) for c in (*read, *_DERIVED)),
        sa.column("public_id", sa.Uuid()),
    )
    update = (
        sa.update(leads)
        .where(leads.c.id == sa.bindparam("i"))
        .values({c: sa.bindparam(c) for c in ("public_id", *_DERIVED)})
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(leads.c.id, leads.c.city, leads.c.score, leads.c.latitude, leads.c.longitude)
            .where(leads.c.id > last)
            .order_by(leads.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        bind.execute(update, [_derived(r) for r in rows])
        last = rows[-1].id
    op.execute(
        "INSERT INTO lead_status_history (lead_id, status_from, status_to, listing_status,"
        " cause, changed_at) SELECT id, NULL, status, NULL, 'migration 0006', first_seen_at"
        " FROM leads"
    )


def downgrade() -> None:
    if _is_postgres():
        op.drop_index("ix_leads_market_newest", table_name="leads")
        op.execute("ALTER TABLE leads DROP COLUMN preview_geom")
    else:
        op.drop_index("ix_leads_status_published", table_name="leads")
    op.drop_index("ix_leads_preview_lat_lon", table_name="leads")
    op.drop_index("ix_leads_status_bucket", table_name="leads")
    op.drop_index("ix_leads_city_key", table_name="leads")
    op.create_index("ix_leads_city", "leads", ["city"])
    for name, cols in _SORT_INDEXES:
        op.drop_index(name, table_name="leads")
        op.create_index(name, "leads", [*cols, "id"])
    op.drop_table("lead_status_history")
    op.execute("UPDATE leads SET status = 'available' WHERE status = 'pending'")
    with op.batch_alter_table("leads", recreate="always" if not _is_postgres() else "auto") as b:
        b.drop_constraint("ck_leads_status", type_="check")
        b.create_check_constraint("ck_leads_status", f"status IN ({_OLD_STATUSES})")
        for column in (
            "score_bucket",
            "preview_longitude",
            "preview_latitude",
            "city_key",
            "listing_status",
        ):
            b.drop_column(column)
    if _is_postgres():
        op.execute(
            "CREATE INDEX ix_leads_market_newest ON leads (status, published_at, id) INCLUDE "
            "(geom, latitude, longitude, asking_price_cents, bedrooms, bathrooms, kind)"
        )
    else:
        op.create_index("ix_leads_status_published", "leads", ["status", "published_at", "id"])
