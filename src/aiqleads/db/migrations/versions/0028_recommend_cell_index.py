"""An index for recommendation candidates: available leads of preview cells, freshest first.

A recommendation's candidates are the freshest visible available leads of the agent's preview
cells (`recommend.repository.candidates`: the stated and learned cells, and the cells whose
centre lies within its stated radius). With only the `h3_r8` index, both databases read every
lead of those cells and sort them (SQLite: 4 to 15 ms per request at 100k leads, ten times that
at 1M). With the cell, the publication time and the columns the visibility rule tests
(status, held_until) in one index, a branch limited to the latest days reads only those days'
index entries, from the index alone.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_NAME = "ix_leads_cell_published"
_COLUMNS = ["h3_r8", "published_at", "public_id", "status", "held_until"]


def upgrade() -> None:
    op.create_index(_NAME, "leads", _COLUMNS)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="leads")
