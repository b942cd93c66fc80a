"""Precomputed lead tallies per preview place for cold map aggregates (penetration).

Penetration's default answers group a whole metro's leads by (ZIP or preview place, status,
bought): one scan of every lead of the metro with a join to purchases, 3 to 5 s at 1M leads on
PostgreSQL, per-row CPU rather than I/O (a covering index made it index-only and saved 10 %).
`geo_tallies` holds the same counts ahead of time, as signed deltas keyed by every value those
answers group on: the lead's metro, ZIP, preview cell and its centre, status (held counted
with available: no map aggregate tells them apart, so holds and their expiry, the most frequent
writes, never touch the tallies), whether it was bought and whether it names a listing
agent or office. Database triggers write the deltas in the writer's own transaction,
whichever code path changes `leads` or `purchases` (the lead write path, bulk loads, COPY), so
the sum of a key's rows always equals a recount. The triggers only append: no row is updated,
so concurrent writers never wait on each other or deadlock on a tally row. `geo.tasks`
compacts the rows of a metro into one row per key from time to time (set-based, one
statement); readers sum whatever rows there are, so a compaction that dies changes nothing.

Missing values are stored as sentinels (the key's columns are NOT NULL so grouping is
plain): metro and ZIP '', cell -1, preview latitude and longitude 1000 (outside the range).

Revision ID: 0035
Revises: 0030
Create Date: 2026-12-01
"""

# ruff: noqa: S608 (fixed SQL built from this file's own constants, no input)
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0030"
branch_labels = None
depends_on = None

_COLUMNS = (
    "metro, zip_code, h3_r8, preview_latitude, preview_longitude, status, bought, listed, leads"
)


def _key(r: str) -> str:
    """The tally key of lead row `r` (a trigger's NEW or OLD, or a table alias), but bought."""
    return (
        f"COALESCE({r}.metro, ''), COALESCE({r}.zip_code, ''), COALESCE({r}.h3_r8, -1),"
        f" COALESCE({r}.preview_latitude, 1000.0), COALESCE({r}.preview_longitude, 1000.0),"
        f" CASE WHEN {r}.status = 'held' THEN 'available' ELSE {r}.status END"
    )


def _listed(r: str) -> str:
    return f"({r}.listing_agent IS NOT NULL OR {r}.listing_office IS NOT NULL)"


def _bought(r: str) -> str:
    return f"EXISTS (SELECT 1 FROM purchases p WHERE p.lead_id = {r}.id)"


def _changed(dialect: str) -> str:
    # Row values: a hold, a price or a score changes none of them, so no trigger runs.
    old = f"({_key('OLD')}, {_listed('OLD')})"
    new = f"({_key('NEW')}, {_listed('NEW')})"
    return f"{old} IS DISTINCT FROM {new}" if dialect == "postgresql" else f"{old} IS NOT {new}"


def _from_lead(r: str, bought: str, sign: str) -> str:
    return f"SELECT {_key(r)}, {bought}, {_listed(r)}, {sign} FROM leads {r}"


_SQLITE = (
    f"""CREATE TRIGGER geo_tallies_lead_insert AFTER INSERT ON leads BEGIN
  INSERT INTO geo_tallies ({_COLUMNS})
  VALUES ({_key("NEW")}, {_bought("NEW")}, {_listed("NEW")}, 1);
END""",
    f"""CREATE TRIGGER geo_tallies_lead_delete AFTER DELETE ON leads BEGIN
  INSERT INTO geo_tallies ({_COLUMNS})
  VALUES ({_key("OLD")}, {_bought("OLD")}, {_listed("OLD")}, -1);
END""",
    f"""CREATE TRIGGER geo_tallies_lead_update AFTER UPDATE ON leads
WHEN {_changed("sqlite")} BEGIN
  INSERT INTO geo_tallies ({_COLUMNS})
  VALUES ({_key("OLD")}, {_bought("NEW")}, {_listed("OLD")}, -1),
         ({_key("NEW")}, {_bought("NEW")}, {_listed("NEW")}, 1);
END""",
    f"""CREATE TRIGGER geo_tallies_purchase_insert AFTER INSERT ON purchases BEGIN
  INSERT INTO geo_tallies ({_COLUMNS})
  {_from_lead("l", "0", "-1")} WHERE l.id = NEW.lead_id
  UNION ALL {_from_lead("l", "1", "1")} WHERE l.id = NEW.lead_id;
END""",
    f"""CREATE TRIGGER geo_tallies_purchase_delete AFTER DELETE ON purchases BEGIN
  INSERT INTO geo_tallies ({_COLUMNS})
  {_from_lead("l", "1", "-1")} WHERE l.id = OLD.lead_id
  UNION ALL {_from_lead("l", "0", "1")} WHERE l.id = OLD.lead_id;
END""",
)

# PostgreSQL: inserts and deletes of leads are tallied once per statement from its transition
# table (a bulk load's COPY or a staged upsert writes a few grouped rows, not one per lead).
_POSTGRES = (
    f"""CREATE FUNCTION geo_tallies_lead_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO geo_tallies ({_COLUMNS})
  SELECT {_key("r")}, {_bought("r")}, {_listed("r")}, count(*) FROM geo_new_leads r
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
  RETURN NULL;
END $$""",
    f"""CREATE FUNCTION geo_tallies_lead_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO geo_tallies ({_COLUMNS})
  SELECT {_key("r")}, {_bought("r")}, {_listed("r")}, -count(*) FROM geo_old_leads r
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
  RETURN NULL;
END $$""",
    f"""CREATE FUNCTION geo_tallies_lead_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE b boolean := {_bought("NEW")};
BEGIN
  INSERT INTO geo_tallies ({_COLUMNS})
  VALUES ({_key("OLD")}, b, {_listed("OLD")}, -1), ({_key("NEW")}, b, {_listed("NEW")}, 1);
  RETURN NULL;
END $$""",
    f"""CREATE FUNCTION geo_tallies_purchase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO geo_tallies ({_COLUMNS})
    {_from_lead("l", "false", "-1")} WHERE l.id = NEW.lead_id
    UNION ALL {_from_lead("l", "true", "1")} WHERE l.id = NEW.lead_id;
  ELSE
    INSERT INTO geo_tallies ({_COLUMNS})
    {_from_lead("l", "true", "-1")} WHERE l.id = OLD.lead_id
    UNION ALL {_from_lead("l", "false", "1")} WHERE l.id = OLD.lead_id;
  END IF;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER geo_tallies_lead_insert AFTER INSERT ON leads
REFERENCING NEW TABLE AS geo_new_leads FOR EACH STATEMENT
EXECUTE FUNCTION geo_tallies_lead_insert()""",
    """CREATE TRIGGER geo_tallies_lead_delete AFTER DELETE ON leads
REFERENCING OLD TABLE AS geo_old_leads FOR EACH STATEMENT
EXECUTE FUNCTION geo_tallies_lead_delete()""",
    f"""CREATE TRIGGER geo_tallies_lead_update AFTER UPDATE ON leads
FOR EACH ROW WHEN ({_changed("postgresql")}) EXECUTE FUNCTION geo_tallies_lead_update()""",
    """CREATE TRIGGER geo_tallies_purchase AFTER INSERT OR DELETE ON purchases
FOR EACH ROW EXECUTE FUNCTION geo_tallies_purchase()""",
)

_BACKFILL = f"""INSERT INTO geo_tallies ({_COLUMNS})
SELECT {_key("l")}, p.lead_id IS NOT NULL, {_listed("l")}, count(*)
FROM leads l LEFT JOIN purchases p ON p.lead_id = l.id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"""


def upgrade() -> None:
    op.create_table(
        "geo_tallies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("metro", sa.String(64), nullable=False),
        sa.Column("zip_code", sa.String(5), nullable=False),
        sa.Column("h3_r8", sa.BigInteger(), nullable=False),
        sa.Column("preview_latitude", sa.Float(), nullable=False),
        sa.Column("preview_longitude", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("bought", sa.Boolean(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("leads", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_geo_tallies_metro", "geo_tallies", ["metro", "id"])
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRES if dialect == "postgresql" else _SQLITE:
        op.execute(statement)
    op.execute(_BACKFILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("lead_insert", "lead_delete", "lead_update"):
            op.execute(f"DROP TRIGGER geo_tallies_{name} ON leads")
        op.execute("DROP TRIGGER geo_tallies_purchase ON purchases")
        for name in ("lead_insert", "lead_delete", "lead_update", "purchase"):
            op.execute(f"DROP FUNCTION geo_tallies_{name}()")
    else:
        for name in ("lead_insert", "lead_delete", "lead_update"):
            op.execute(f"DROP TRIGGER geo_tallies_{name}")
        for name in ("purchase_insert", "purchase_delete"):
            op.execute(f"DROP TRIGGER geo_tallies_{name}")
    op.drop_table("geo_tallies")
