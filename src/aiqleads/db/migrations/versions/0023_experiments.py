"""A/B experiments and their exposures (`aiqleads.experiments`).

`experiments`: name, surface, status, salt, variants (JSON: name, weight, config), the outcome
window, when it started, stopped and was concluded, and the winner; a partial unique index lets
at most one experiment run per surface. `experiment_exposures`: one row per list served under
a variant (agent, lead ids, when, serving latency).

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("surface", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("salt", sa.String(80), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("window_hours", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("stopped_at", TS),
        sa.Column("concluded_at", TS),
        sa.Column("winner", sa.String(40)),
    )
    op.create_index(
        "uq_experiments_running_surface",
        "experiments",
        ["surface"],
        unique=True,
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )
    op.create_table(
        "experiment_exposures",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column(
            "experiment_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "experiments.id",
                ondelete="CASCADE",
                name="fk_experiment_exposures_experiment_id_experiments",
            ),
            nullable=False,
        ),
        sa.Column("variant", sa.String(40), nullable=False),
        sa.Column(
            "account_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "accounts.id",
                ondelete="CASCADE",
                name="fk_experiment_exposures_account_id_accounts",
            ),
            nullable=False,
        ),
        sa.Column("lead_ids", sa.JSON(), nullable=False),
        sa.Column("served_at", TS, nullable=False),
        sa.Column("latency_ms", sa.Float()),
    )
    op.create_index(
        "ix_experiment_exposures_experiment_served",
        "experiment_exposures",
        ["experiment_id", "served_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_experiment_exposures_experiment_served", "experiment_exposures")
    op.drop_table("experiment_exposures")
    op.drop_index("uq_experiments_running_surface", "experiments")
    op.drop_table("experiments")
