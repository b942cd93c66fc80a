"""Each lead's metro, and per-metro data versions for cache invalidation.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("metro", sa.String(32)))
    op.create_index("ix_leads_metro_status", "leads", ["metro", "status"])
    op.create_table(
        "data_versions",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("data_versions")
    op.drop_index("ix_leads_metro_status", table_name="leads")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("metro")
