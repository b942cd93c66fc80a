"""The registry of trained scoring models: one row per artifact, at most one active.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scoring_models",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("version", sa.String(40), nullable=False, unique=True),
        sa.Column("trained_at", TS, nullable=False),
        sa.Column("feature_set", sa.String(40), nullable=False),
        sa.Column("feature_version", sa.String(40), nullable=False),
        sa.Column("feature_names", sa.JSON(), nullable=False),
        sa.Column("window_start", TS),
        sa.Column("window_end", TS),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("importance", sa.JSON(), nullable=False),
        sa.Column("artifact_path", sa.String(1000), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("territory_cuts", sa.JSON()),
    )


def downgrade() -> None:
    op.drop_table("scoring_models")
