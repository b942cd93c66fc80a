"""Data versions kept in shards: a scope's version is the sum of its rows' counters.

Every hold, release and sale bumps its metro's version as it commits. With one row per metro
all of them queued on that row's lock, held from the bump to the end of the commit: under
load the writer's next event-loop turn came between them, and holds waited 275 ms on average
for the row (bench/cart.py, 2026-12-01). A writer now bumps the first shard of its scope that
no other transaction has locked (`leads.versions`), so writers of one metro no longer wait for
each other; a reader sums the shards, which still moves with every committed bump.

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0028"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "data_versions_sharded",
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("scope", "shard", name="pk_data_versions_sharded"),
    )
    op.execute(
        "INSERT INTO data_versions_sharded (scope, shard, version, updated_at)"
        " SELECT scope, 0, version, updated_at FROM data_versions"
    )
    op.drop_table("data_versions")
    op.rename_table("data_versions_sharded", "data_versions")
    _rename_pk("pk_data_versions_sharded", "pk_data_versions")


def downgrade() -> None:
    op.create_table(
        "data_versions_single",
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("scope", name="pk_data_versions_single"),
    )
    op.execute(
        "INSERT INTO data_versions_single (scope, version, updated_at)"
        " SELECT scope, SUM(version), MAX(updated_at) FROM data_versions GROUP BY scope"
    )
    op.drop_table("data_versions")
    op.rename_table("data_versions_single", "data_versions")
    _rename_pk("pk_data_versions_single", "pk_data_versions")


def _rename_pk(old: str, new: str) -> None:
    # PostgreSQL keeps a constraint's name through a table rename; SQLite names none.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE data_versions RENAME CONSTRAINT {old} TO {new}")
