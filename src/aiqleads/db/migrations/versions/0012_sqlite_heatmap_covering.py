"""SQLite: the heatmap index covers every heatmap query, for agents and admins.

Since 0006 the table is wider, and SQLite, which costs a scan by the declared row width,
answers an agent's heatmap (`published_at` up to the tier window) by walking 0005's
(metro, status, published_at, h3_r8) index and reading each row from the table, 2.5 to 3.5
times slower than the scan it chose before (bench/geo.py, 100k leads). With the columns the
heatmap reads added (the resolution-7 cell, and the asking price and score, exact and bucket,
that weighted maps sum), counts at resolutions 7 and 8 and weighted maps are answered from the
index alone for both kinds of caller: 35-85 ms at 100k leads, where 0006 took 230-570 ms.
PostgreSQL hash-aggregates a sequential scan and needs none of this.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_NAME = "ix_leads_metro_heat"
_BEFORE = ["metro", "status", "published_at", "h3_r8"]  # 0005
_COVERING = [*_BEFORE, "h3_r7", "asking_price_cents", "score_bucket", "score"]


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _is_sqlite():
        op.drop_index(_NAME, table_name="leads")
        op.create_index(_NAME, "leads", _COVERING)


def downgrade() -> None:
    if _is_sqlite():
        op.drop_index(_NAME, table_name="leads")
        op.create_index(_NAME, "leads", _BEFORE)
