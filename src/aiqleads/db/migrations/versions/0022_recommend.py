"""Recommendations: agents' stated preferences, the recommender registry, served items.

`agent_preferences` holds what an agent typed (`PUT /api/v1/me/preferences`): territory (ZIPs,
H3 cells, or a centre and radius), price range, kinds and bedrooms. `recommender_models` is the
registry of trained rankers: one row per version, at most one `serving`; `activated_at` orders
deployments so a rollback returns to the previous one. `recommendation_impressions` records each
item served (agent, lead, version, rank, when): online accuracy per version joins it to the
event log.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "agent_preferences",
        sa.Column(
            "account_id",
            ID,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("zip_codes", sa.JSON(), nullable=False),
        sa.Column("h3_cells", sa.JSON(), nullable=False),
        sa.Column("center_latitude", sa.Float()),
        sa.Column("center_longitude", sa.Float()),
        sa.Column("radius_m", sa.Float()),
        sa.Column("price_min_cents", sa.BigInteger()),
        sa.Column("price_max_cents", sa.BigInteger()),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("bedrooms_min", sa.Integer()),
        sa.Column("bedrooms_max", sa.Integer()),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "recommender_models",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(40), nullable=False, unique=True),
        sa.Column("trained_at", TS, nullable=False),
        sa.Column("feature_names", sa.JSON(), nullable=False),
        sa.Column("window_start", TS),
        sa.Column("window_end", TS),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("artifact_path", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("activated_at", TS),
    )
    op.create_table(
        "recommendation_impressions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("lead_id", ID, sa.ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model_version", sa.String(40), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("served_at", TS, nullable=False),
    )
    op.create_index(
        "ix_recommendation_impressions_account_lead",
        "recommendation_impressions",
        ["account_id", "lead_id", "served_at"],
    )
    op.create_index(
        "ix_recommendation_impressions_served_at", "recommendation_impressions", ["served_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_recommendation_impressions_served_at", "recommendation_impressions")
    op.drop_index("ix_recommendation_impressions_account_lead", "recommendation_impressions")
    op.drop_table("recommendation_impressions")
    op.drop_table("recommender_models")
    op.drop_table("agent_preferences")
