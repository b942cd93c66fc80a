"""Ingestion runs: each run of the pipeline, its outcome and its summary's counts.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COUNTS = ("documents", "read", "created", "updated", "unchanged", "merged", "quarantined")


def upgrade() -> None:
    op.create_table(
        "ingestion_runs",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("metro", sa.String(32)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("progress_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.Column("quarantined_by_reason", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("error_class", sa.String(200)),
        sa.Column("error_message", sa.String(2000)),
        sa.CheckConstraint(
            "outcome IN ('running', 'succeeded', 'failed')", name="ck_ingestion_runs_outcome"
        ),
    )
    op.create_index("ix_ingestion_runs_source_id", "ingestion_runs", ["source", "id"])


def downgrade() -> None:
    op.drop_table("ingestion_runs")
