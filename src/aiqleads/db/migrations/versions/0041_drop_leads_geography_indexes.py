"""Drop the GiST indexes on `geom::geography` and `preview_geom::geography` (PostgreSQL).

Every metre query now finds its candidates on the geometry GiST indexes (`ix_leads_geom`,
`ix_leads_preview_geom`) or on `ix_leads_lat_lon` by a degree box that holds the circle, and
tests the distance on geography among those few: competitors' radius counts and nearest
(`geo.repository.competitors`) and ingestion's near-point candidates
(`ingestion.repository.candidates_near`). A geography index only cost every stored lead two
more GiST entries to write: 11-25 µs of server time a lead in three runs of 2,000-lead batches
into 100k leads (the app's staged upsert, rolled back), the largest index cost of ingestion's bar
(issue 8).

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

_INDEXES = {"ix_leads_geog": "geom", "ix_leads_preview_geog": "preview_geom"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, column in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON leads USING gist (({column}::geography))")
