"""Drop `ix_leads_h3_r8`: `ix_leads_cell_published` (0028) starts with the same column.

Every query that looks leads up by preview cell (`h3_r8 = …`, `h3_r8 IN (…)`) can use the leading
column of `(h3_r8, published_at, public_id, status, held_until)`; the single-column index only
cost every stored lead one more index entry to write (ingestion's bar, issue 8).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

_NAME = "ix_leads_h3_r8"


def upgrade() -> None:
    op.drop_index(_NAME, table_name="leads")


def downgrade() -> None:
    op.create_index(_NAME, "leads", ["h3_r8"])
