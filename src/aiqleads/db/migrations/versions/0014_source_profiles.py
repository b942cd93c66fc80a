"""Source monitoring: each source's baseline and latest profile.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "source_profiles",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("computed_at", TS, nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("leads", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("coverage", sa.JSON(), nullable=False),
        sa.CheckConstraint("role IN ('baseline', 'latest')", name="ck_source_profiles_role"),
    )


def downgrade() -> None:
    op.drop_table("source_profiles")
