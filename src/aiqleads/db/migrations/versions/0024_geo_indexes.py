"""An index for agents' office tallies: listed leads by resolution-7 region.

Agents' top offices are tallied over whole resolution-7 regions (`geo.disclosure`), whatever
the filters: `h3_r7 IN (regions)` with the market's statuses and the priority window. With no
index on `h3_r7`, both databases read every offered lead to test its region: on SQLite 0.6 to
1 s at 100k leads for one search circle, which doubled an agent's competitors answer. This
index holds the region, the status and publication the market condition tests, and the office
and agent tallied, so SQLite answers from it alone (0.3 ms for one circle, 20 to 60 ms for the
regions around 200 purchases; bench/geo.py) and PostgreSQL reads only the regions' rows.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_NAME = "ix_leads_office_region"
_COLUMNS = ["h3_r7", "status", "published_at", "listing_office", "listing_agent"]


def upgrade() -> None:
    op.create_index(_NAME, "leads", _COLUMNS)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="leads")
