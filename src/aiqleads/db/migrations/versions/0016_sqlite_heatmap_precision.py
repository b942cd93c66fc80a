"""SQLite: the heatmap index also holds `geocode_precision`.

Since 0013 the heatmap says how many of its leads stand at an approximate point (a ZIP
centroid), counted in the same GROUP BY as the cells; without the column in 0012's covering
index, SQLite would read every row of the metro from the table for it (an agent's heatmap at
100k leads: 250 ms instead of 100 ms, bench/geo.py). PostgreSQL scans the table and needs no
index for it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_NAME = "ix_leads_metro_heat"
_BEFORE = ["metro", "status", "published_at", "h3_r8", "h3_r7", "asking_price_cents"]
_BEFORE += ["score_bucket", "score"]  # 0012
_AFTER = [*_BEFORE, "geocode_precision"]


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _is_sqlite():
        op.drop_index(_NAME, table_name="leads")
        op.create_index(_NAME, "leads", _AFTER)


def downgrade() -> None:
    if _is_sqlite():
        op.drop_index(_NAME, table_name="leads")
        op.create_index(_NAME, "leads", _BEFORE)
