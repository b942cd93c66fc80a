"""Progressive login delays instead of a lockout; a token version on each account.

`login_throttles` counts recent failed logins per e-mail named (HMAC, whether or not an account
has it) and per client address, and says until when the next attempt must wait. It replaces
`accounts.failed_logins` and `accounts.locked_until`, which are dropped: a lockout kept on the
account told anyone who tried whether the account existed. `accounts.token_version` is carried
by every access token; raising it ends them all at once.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("scope", sa.String(8), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", TS, nullable=False),
        sa.Column("blocked_until", TS),
    )
    op.create_index("ix_login_throttles_last_failed_at", "login_throttles", ["last_failed_at"])
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("locked_until", TS))
        batch.drop_column("token_version")
    op.drop_index("ix_login_throttles_last_failed_at", "login_throttles")
    op.drop_table("login_throttles")
