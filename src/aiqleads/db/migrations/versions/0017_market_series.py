"""Market series: monthly values per source, region and measure (Zillow, Redfin, the leads).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "market_series",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("region_kind", sa.String(16), nullable=False),
        sa.Column("region", sa.String(120), nullable=False),
        sa.Column("measure", sa.String(64), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.UniqueConstraint(
            "source", "region_kind", "region", "measure", "month", name="uq_market_series_key"
        ),
    )


def downgrade() -> None:
    op.drop_table("market_series")
