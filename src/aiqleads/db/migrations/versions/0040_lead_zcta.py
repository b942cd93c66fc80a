"""The ZCTA of each lead's exact point, stored, and the map tallies keyed by it too.

Admins' ZIP penetration places a lead without a known ZIP in the ZCTA holding its exact point:
at 1M leads in one metro that was a scan sending every point to the service and a
point-in-polygon test per lead (~2.9 s cold). `leads.zcta` holds that ZCTA (NULL outside every
polygon), derived by the write path from the point like the other location columns, and
`geo_tallies` gains it as a key column ('' when none), so the whole metro's admin answer is a
GROUP BY over the tallies. The ZCTA is finer than the preview cell: only admins' reads use it.

Upgrade: add the columns; drop migration 0035's tally triggers on `leads` and `purchases`
(their key gains the ZCTA); derive every located lead's ZCTA in chunks
(`geo.stored_zcta.rederive`, as `aiqleads geo rederive-zcta`); recount the tallies with the new
key; create the triggers again. Every located lead is rewritten once: at 1M leads that takes
minutes with `leads` locked, and leaves as many dead row versions on PostgreSQL, so run
`VACUUM (ANALYZE) leads` afterwards (docs/operations/scaling.md). Downgrade: the reverse.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-01
"""

# ruff: noqa: S608 (fixed SQL built from this file's own constants, no input)
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aiqleads.geo.stored_zcta import rederive

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

# The SQL of migration 0035 with and without the ZCTA in the key (migrations import no other
# migration, so its builders are copied here).


def _columns(zcta: bool) -> str:
    extra = ", zcta" if zcta else ""
    return (
        "metro, zip_code, h3_r8, preview_latitude, preview_longitude, status"
        f"{extra}, bought, listed, leads"
    )


def _key(r: str, zcta: bool) -> str:
    """The tally key of lead row `r` (a trigger's NEW or OLD, or a table alias), but bought."""
    extra = f", COALESCE({r}.zcta, '')" if zcta else ""
    return (
        f"COALESCE({r}.metro, ''), COALESCE({r}.zip_code, ''), COALESCE({r}.h3_r8, -1),"
        f" COALESCE({r}.preview_latitude, 1000.0), COALESCE({r}.preview_longitude, 1000.0),"
        f" CASE WHEN {r}.status = 'held' THEN 'available' ELSE {r}.status END{extra}"
    )


def _listed(r: str) -> str:
    return f"({r}.listing_agent IS NOT NULL OR {r}.listing_office IS NOT NULL)"


def _bought(r: str) -> str:
    return f"EXISTS (SELECT 1 FROM purchases p WHERE p.lead_id = {r}.id)"


def _changed(dialect: str, zcta: bool) -> str:
    # Row values: a hold, a price or a score changes none of them, so no trigger runs.
    old = f"({_key('OLD', zcta)}, {_listed('OLD')})"
    new = f"({_key('NEW', zcta)}, {_listed('NEW')})"
    return f"{old} IS DISTINCT FROM {new}" if dialect == "postgresql" else f"{old} IS NOT {new}"


def _from_lead(r: str, bought: str, sign: str, zcta: bool) -> str:
    return f"SELECT {_key(r, zcta)}, {bought}, {_listed(r)}, {sign} FROM leads {r}"


def _group_by(zcta: bool) -> str:
    return ", ".join(str(i) for i in range(1, 10 if zcta else 9))


def _sqlite(z: bool) -> tuple[str, ...]:
    c = _columns(z)
    return (
        f"""CREATE TRIGGER geo_tallies_lead_insert AFTER INSERT ON leads BEGIN
  INSERT INTO geo_tallies ({c})
  VALUES ({_key("NEW", z)}, {_bought("NEW")}, {_listed("NEW")}, 1);
END""",
        f"""CREATE TRIGGER geo_tallies_lead_delete AFTER DELETE ON leads BEGIN
  INSERT INTO geo_tallies ({c})
  VALUES ({_key("OLD", z)}, {_bought("OLD")}, {_listed("OLD")}, -1);
END""",
        f"""CREATE TRIGGER geo_tallies_lead_update AFTER UPDATE ON leads
WHEN {_changed("sqlite", z)} BEGIN
  INSERT INTO geo_tallies ({c})
  VALUES ({_key("OLD", z)}, {_bought("NEW")}, {_listed("OLD")}, -1),
         ({_key("NEW", z)}, {_bought("NEW")}, {_listed("NEW")}, 1);
END""",
        f"""CREATE TRIGGER geo_tallies_purchase_insert AFTER INSERT ON purchases BEGIN
  INSERT INTO geo_tallies ({c})
  {_from_lead("l", "0", "-1", z)} WHERE l.id = NEW.lead_id
  UNION ALL {_from_lead("l", "1", "1", z)} WHERE l.id = NEW.lead_id;
END""",
        f"""CREATE TRIGGER geo_tallies_purchase_delete AFTER DELETE ON purchases BEGIN
  INSERT INTO geo_tallies ({c})
  {_from_lead("l", "1", "-1", z)} WHERE l.id = OLD.lead_id
  UNION ALL {_from_lead("l", "0", "1", z)} WHERE l.id = OLD.lead_id;
END""",
    )


def _postgres_functions(z: bool) -> tuple[str, ...]:
    c, g = _columns(z), _group_by(z)
    return (
        f"""CREATE OR REPLACE FUNCTION geo_tallies_lead_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO geo_tallies ({c})
  SELECT {_key("r", z)}, {_bought("r")}, {_listed("r")}, count(*) FROM geo_new_leads r
  GROUP BY {g};
  RETURN NULL;
END $$""",
        f"""CREATE OR REPLACE FUNCTION geo_tallies_lead_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO geo_tallies ({c})
  SELECT {_key("r", z)}, {_bought("r")}, {_listed("r")}, -count(*) FROM geo_old_leads r
  GROUP BY {g};
  RETURN NULL;
END $$""",
        f"""CREATE OR REPLACE FUNCTION geo_tallies_lead_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE b boolean := {_bought("NEW")};
BEGIN
  INSERT INTO geo_tallies ({c})
  VALUES ({_key("OLD", z)}, b, {_listed("OLD")}, -1), ({_key("NEW", z)}, b, {_listed("NEW")}, 1);
  RETURN NULL;
END $$""",
        f"""CREATE OR REPLACE FUNCTION geo_tallies_purchase() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO geo_tallies ({c})
    {_from_lead("l", "false", "-1", z)} WHERE l.id = NEW.lead_id
    UNION ALL {_from_lead("l", "true", "1", z)} WHERE l.id = NEW.lead_id;
  ELSE
    INSERT INTO geo_tallies ({c})
    {_from_lead("l", "true", "-1", z)} WHERE l.id = OLD.lead_id
    UNION ALL {_from_lead("l", "false", "1", z)} WHERE l.id = OLD.lead_id;
  END IF;
  RETURN NULL;
END $$""",
    )


def _postgres_update_trigger(z: bool) -> str:
    return f"""CREATE TRIGGER geo_tallies_lead_update AFTER UPDATE ON leads
FOR EACH ROW WHEN ({_changed("postgresql", z)}) EXECUTE FUNCTION geo_tallies_lead_update()"""


def _recount(z: bool) -> None:
    op.execute("DELETE FROM geo_tallies")
    op.execute(
        f"""INSERT INTO geo_tallies ({_columns(z)})
SELECT {_key("l", z)}, p.lead_id IS NOT NULL, {_listed("l")}, count(*)
FROM leads l LEFT JOIN purchases p ON p.lead_id = l.id
GROUP BY {_group_by(z)}"""
    )


def _drop_triggers(postgres: bool) -> None:
    # PostgreSQL: the insert, delete and purchase triggers call functions replaced in place,
    # and none of them fires on the backfill's UPDATEs; the update trigger's WHEN names the key.
    if postgres:
        op.execute("DROP TRIGGER geo_tallies_lead_update ON leads")
        return
    for name in ("lead_insert", "lead_delete", "lead_update", "purchase_insert", "purchase_delete"):
        op.execute(f"DROP TRIGGER geo_tallies_{name}")


def _create_triggers(postgres: bool, z: bool) -> None:
    if postgres:
        for statement in _postgres_functions(z):
            op.execute(statement)
        op.execute(_postgres_update_trigger(z))
        return
    for statement in _sqlite(z):
        op.execute(statement)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("leads", sa.Column("zcta", sa.String(5), nullable=True))
    op.add_column("geo_tallies", sa.Column("zcta", sa.String(5), nullable=False, server_default=""))
    _drop_triggers(postgres)
    rederive(op.get_bind())
    _recount(True)
    _create_triggers(postgres, True)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _drop_triggers(postgres)
    _create_triggers(postgres, False)
    _recount(False)
    # Plain ALTER TABLE … DROP COLUMN (SQLite >= 3.35): no trigger names the columns any more.
    op.execute("ALTER TABLE geo_tallies DROP COLUMN zcta")
    op.execute("ALTER TABLE leads DROP COLUMN zcta")
