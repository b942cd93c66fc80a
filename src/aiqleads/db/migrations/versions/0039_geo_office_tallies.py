"""Precomputed office tallies for agents' top offices (`geo.disclosure.regional_offices`).

An agent's competitors answer lists the top listing offices over the whole resolution-7
regions its search circles reach: a count of the offered listed leads per (region, office).
Read from `leads` through `ix_leads_office_region` that is a scan of every lead of those
regions, listed or not (at 1M leads in one metro, 200 circles: 870k index entries, 0.36 to
0.42 s on PostgreSQL, most of the answer). `geo_office_tallies` holds those counts ahead of
time as signed deltas per (region, office, status with held counted as available), for the
leads that name a listing office or agent and have a region, written by database triggers in
the writer's own transaction, whichever code path changes `leads` (as migration 0035's
`geo_tallies`; the office is `COALESCE(listing_office, listing_agent)`, the answer's own). The
triggers only append, so writers never wait on a tally row; `geo.tasks` compacts the rows;
readers sum whatever rows there are. Purchases need no trigger: the answer does not tell
bought from unbought (a sale changes the lead's status, which its own trigger sees), and a
viewer's own purchases are subtracted live.

Revision ID: 0039
Revises: 0033
Create Date: 2026-12-01
"""

# ruff: noqa: S608 (fixed SQL built from this file's own constants, no input)
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0033"
branch_labels = None
depends_on = None

_COLUMNS = "h3_r7, office, status, leads"


def _key(r: str) -> str:
    """The tally key of lead row `r` (a trigger's NEW or OLD, or a table alias)."""
    return (
        f"{r}.h3_r7, COALESCE({r}.listing_office, {r}.listing_agent),"
        f" CASE WHEN {r}.status = 'held' THEN 'available' ELSE {r}.status END"
    )


def _tallied(r: str) -> str:
    """Whether lead row `r` has a tally key: a region and an office or agent."""
    return (
        f"({r}.h3_r7 IS NOT NULL AND ({r}.listing_office IS NOT NULL"
        f" OR {r}.listing_agent IS NOT NULL))"
    )


def _changed(dialect: str) -> str:
    # Row values: a hold, a price or a score changes none of them, so no trigger runs.
    old, new = f"({_key('OLD')})", f"({_key('NEW')})"
    return f"{old} IS DISTINCT FROM {new}" if dialect == "postgresql" else f"{old} IS NOT {new}"


_SQLITE = (
    f"""CREATE TRIGGER geo_office_tallies_insert AFTER INSERT ON leads
WHEN {_tallied("NEW")} BEGIN
  INSERT INTO geo_office_tallies ({_COLUMNS}) VALUES ({_key("NEW")}, 1);
END""",
    f"""CREATE TRIGGER geo_office_tallies_delete AFTER DELETE ON leads
WHEN {_tallied("OLD")} BEGIN
  INSERT INTO geo_office_tallies ({_COLUMNS}) VALUES ({_key("OLD")}, -1);
END""",
    f"""CREATE TRIGGER geo_office_tallies_update AFTER UPDATE ON leads
WHEN {_changed("sqlite")} BEGIN
  INSERT INTO geo_office_tallies ({_COLUMNS})
  SELECT {_key("OLD")}, -1 WHERE {_tallied("OLD")}
  UNION ALL SELECT {_key("NEW")}, 1 WHERE {_tallied("NEW")};
END""",
)

# PostgreSQL: inserts and deletes are tallied once per statement from its transition table.
_POSTGRES = (
    f"""CREATE FUNCTION geo_office_tallies_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO geo_office_tallies ({_COLUMNS})
  SELECT {_key("r")}, count(*) FROM geo_office_new_leads r WHERE {_tallied("r")}
  GROUP BY 1, 2, 3;
  RETURN NULL;
END $$""",
    f"""CREATE FUNCTION geo_office_tallies_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO geo_office_tallies ({_COLUMNS})
  SELECT {_key("r")}, -count(*) FROM geo_office_old_leads r WHERE {_tallied("r")}
  GROUP BY 1, 2, 3;
  RETURN NULL;
END $$""",
    f"""CREATE FUNCTION geo_office_tallies_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO geo_office_tallies ({_COLUMNS})
  SELECT {_key("OLD")}, -1 WHERE {_tallied("OLD")}
  UNION ALL SELECT {_key("NEW")}, 1 WHERE {_tallied("NEW")};
  RETURN NULL;
END $$""",
    """CREATE TRIGGER geo_office_tallies_insert AFTER INSERT ON leads
REFERENCING NEW TABLE AS geo_office_new_leads FOR EACH STATEMENT
EXECUTE FUNCTION geo_office_tallies_insert()""",
    """CREATE TRIGGER geo_office_tallies_delete AFTER DELETE ON leads
REFERENCING OLD TABLE AS geo_office_old_leads FOR EACH STATEMENT
EXECUTE FUNCTION geo_office_tallies_delete()""",
    f"""CREATE TRIGGER geo_office_tallies_update AFTER UPDATE ON leads
FOR EACH ROW WHEN ({_changed("postgresql")}) EXECUTE FUNCTION geo_office_tallies_update()""",
)

_BACKFILL = f"""INSERT INTO geo_office_tallies ({_COLUMNS})
SELECT {_key("l")}, count(*) FROM leads l WHERE {_tallied("l")} GROUP BY 1, 2, 3"""


def upgrade() -> None:
    op.create_table(
        "geo_office_tallies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("h3_r7", sa.BigInteger(), nullable=False),
        sa.Column("office", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("leads", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_geo_office_tallies_region", "geo_office_tallies", ["h3_r7", "status"])
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRES if dialect == "postgresql" else _SQLITE:
        op.execute(statement)
    op.execute(_BACKFILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER geo_office_tallies_{name} ON leads")
            op.execute(f"DROP FUNCTION geo_office_tallies_{name}()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER geo_office_tallies_{name}")
    op.drop_table("geo_office_tallies")
