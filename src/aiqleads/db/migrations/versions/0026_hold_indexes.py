"""Partial indexes on open hold records (`ended_at IS NULL`).

Hold records are never deleted: every hold, release and sale leaves one, so a hot lead gathers
hundreds of ended records while at most one is open. Every hold and release closes the lead's
open record (`UPDATE holds … WHERE lead_id = ? AND ended_at IS NULL`), which `ix_holds_lead`
answers only by visiting each of the lead's records; `ix_holds_lead_open` holds the open ones
alone. The hold sweeper's reads (`cart.repository.end_stale`, `claim_expiring`: open records
by `held_until`, over all accounts) had no index but a scan of the whole table;
`ix_holds_open_until` serves them. Both stay as small as the number of live holds.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

OPEN = "ended_at IS NULL"
_INDEXES = {"ix_holds_lead_open": ["lead_id"], "ix_holds_open_until": ["held_until"]}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.create_index(
            name,
            "holds",
            columns,
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="holds")
