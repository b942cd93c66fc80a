"""The feature store: each entity's values of a feature set at a version (aiqleads.features).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "feature_values",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("entity_kind", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("feature_set", sa.String(32), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.UniqueConstraint(
            "entity_kind",
            "entity_id",
            "feature_set",
            "version",
            name="uq_feature_values_entity_kind_entity_id_feature_set_version",
        ),
        sa.CheckConstraint(
            "entity_kind IN ('lead', 'agent')", name="ck_feature_values_entity_kind"
        ),
    )
    op.create_index(
        "ix_feature_values_set_version",
        "feature_values",
        ["feature_set", "version", "computed_at"],
    )


def downgrade() -> None:
    op.drop_table("feature_values")
