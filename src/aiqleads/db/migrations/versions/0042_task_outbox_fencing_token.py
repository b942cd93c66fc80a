"""`task_outbox.fencing_token`: a number each claim of a row increments.

A runner whose lease lapsed (its renewals failed while the database was away, or its process
stalled) may still be running when another runner claims the row and runs it again. Without a
mark of whose claim is current, the first runner's outcome landed on the second's claim: its
failure put the row back to pending (a third runner could start it beside the second) and
counted an attempt the live run had not failed. Each claim now takes the next token, and a
renewal or a failure is recorded only by the runner holding the current one (a fencing token:
Kleppmann, "How to do distributed locking", 2016).

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_outbox") as batch:
        batch.add_column(
            sa.Column("fencing_token", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("task_outbox") as batch:
        batch.drop_column("fencing_token")
