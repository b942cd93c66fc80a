"""Leads keep their price's factors and their score's reasons; three score buckets.

`price_factors` (JSON: base_cents, quality, demand, market, cents) says how the lead price was
made, for the lead's detail answer. `score_reasons` (JSON list of {feature, text, direction})
holds the scoring model's top contributions in words. Score buckets are now High/Medium/Low
("A"/"B"/"C", leads.scores): the fourth bucket "D" of rules-1 joins "C".

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("price_factors", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("score_reasons", sa.JSON(), nullable=True))
    op.execute("UPDATE leads SET score_bucket = 'C' WHERE score_bucket = 'D'")


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("score_reasons")
        batch.drop_column("price_factors")
