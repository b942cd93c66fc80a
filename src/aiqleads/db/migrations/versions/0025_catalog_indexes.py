"""The catalog's city search walks its own index in the default order.

Since the disclosure rule the city filter matches `city_key` (the case- and spelling-folded
city, so "McKinney" finds "MCKINNEY"), which had only a single-column index, while agents'
default search covers two stored statuses (available and held) and so no longer walks the
status index in order either. Both databases then read every lead of the city and sorted them:
a large city at 100k leads (Seattle, a third of them) cost 30 ms on SQLite and 195 ms on
PostgreSQL for one page (bench/catalog.py, `city_kind`). Keyed like the ZIP index (the filter,
the default order, the public id ending every order), the index gives the page by walking one
city's entries newest first and stopping after a page; it also serves every equality lookup
the single-column index served, which it replaces.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_leads_city_published", "leads", ["city_key", "published_at", "public_id"])
    op.drop_index("ix_leads_city_key", table_name="leads")


def downgrade() -> None:
    op.create_index("ix_leads_city_key", "leads", ["city_key"])
    op.drop_index("ix_leads_city_published", table_name="leads")
