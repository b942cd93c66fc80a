"""Catalog indexes for an agent's search since the disclosure rule: a city's own, and on SQLite
a covering default order.

Agents' searches cover two stored statuses (available and held), so a search that keeps one
query (by city, ZIP or box) no longer walks the status index in order: with `status IN (...)`
on its first column, the database reads every matching entry and sorts them.

* **City.** The city filter matches `city_key` (the case- and spelling-folded city, so
  "McKinney" finds "MCKINNEY"), which had only a single-column index: both databases read
  every lead of the city and sorted them (Seattle, a third of 100k leads: 30 ms on SQLite,
  195 ms on PostgreSQL for one page; bench/catalog.py `city_kind`). Keyed like the ZIP index
  (the filter, the default order, the public id ending every order), the new index gives the
  page by walking one city's entries newest first; it serves every lookup the single-column
  index served, which it replaces.
* **Box, SQLite.** A box search tests the viewer's point (preview cell centre for agents, the
  exact point for admins) and the usual filters on each lead of the statuses asked. With the
  status index holding only the key, each test read the lead's row: 110 ms of CPU per search
  at 100k leads. SQLite has no INCLUDE, so the default order's index gains those columns
  after its key, as PostgreSQL's `ix_leads_market_newest` INCLUDEs them (migration 0006), and
  the search reads the index alone (13 ms). The key, and so every other use, is unchanged.

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

_ORDER_KEY = ["status", "published_at", "public_id"]
# The columns a catalog search filters on besides the key (PostgreSQL: migration 0006's INCLUDE).
_COVERED = [
    "preview_latitude",
    "preview_longitude",
    "latitude",
    "longitude",
    "asking_price_cents",
    "bedrooms",
    "bathrooms",
    "kind",
]


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.create_index("ix_leads_city_published", "leads", ["city_key", "published_at", "public_id"])
    op.drop_index("ix_leads_city_key", table_name="leads")
    if _is_sqlite():
        op.drop_index("ix_leads_status_published", table_name="leads")
        op.create_index("ix_leads_status_published", "leads", [*_ORDER_KEY, *_COVERED])


def downgrade() -> None:
    if _is_sqlite():
        op.drop_index("ix_leads_status_published", table_name="leads")
        op.create_index("ix_leads_status_published", "leads", _ORDER_KEY)
    op.create_index("ix_leads_city_key", "leads", ["city_key"])
    op.drop_index("ix_leads_city_published", table_name="leads")
