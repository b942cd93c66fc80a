"""The ZIP index covers the visibility rule's columns: ZIP candidates read from the index alone.

A recommendation's candidates are the freshest visible available leads of the agent's ZIPs and
preview cells (`recommend.repository.candidates`). The cells' index (0028) holds the columns
the visibility rule tests (status, held_until); the ZIPs' did not, so each ZIP entry of the
latest days cost a read of its table row just to test them: an agent with a dozen ZIPs read
hundreds of rows to keep a few (SQLite at 100k leads: the candidate reads' p95 CPU 9.6 ms,
4.9 ms with this index; more at 1M, where each ZIP holds ten times the entries).

The index keeps its name and its leading columns (zip_code, published_at, public_id), so every
query it served it serves the same; status and held_until are appended, as 0028 does for cells.

Revision ID: 0032
Revises: 0035
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0032"
down_revision = "0035"
branch_labels = None
depends_on = None

_NAME = "ix_leads_zip_published"
_OLD = ["zip_code", "published_at", "public_id"]
_NEW = [*_OLD, "status", "held_until"]


def upgrade() -> None:
    op.drop_index(_NAME, table_name="leads")
    op.create_index(_NAME, "leads", _NEW)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="leads")
    op.create_index(_NAME, "leads", _OLD)
