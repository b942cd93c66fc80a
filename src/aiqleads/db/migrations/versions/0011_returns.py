"""Returns: a buyer's request to return a lead it bought, an admin's decision, the refund.

At most one return per purchase that is not rejected (a partial unique index, on SQLite as on
PostgreSQL): two requests racing for one purchase cannot both be filed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN_RETURN = "status IN ('requested', 'approved', 'refunded')"


def upgrade() -> None:
    op.create_table(
        "returns",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.Column(
            "purchase_id",
            sa.BigInteger(),
            sa.ForeignKey("purchases.id", name="fk_returns_purchase_id_purchases"),
            nullable=False,
        ),
        sa.Column(
            "account_id",
            sa.BigInteger(),
            sa.ForeignKey("accounts.id", name="fk_returns_account_id_accounts"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("decided_at", TS),
        sa.Column(
            "decided_by",
            sa.BigInteger(),
            sa.ForeignKey("accounts.id", name="fk_returns_decided_by_accounts"),
        ),
        sa.Column("rejection_reason", sa.Text()),
        sa.Column("refund_claimed_at", TS),
        sa.Column("refund_reference", sa.String(255)),
        sa.Column("refunded_at", TS),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("public_id", name="uq_returns_public_id"),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'rejected', 'refunded')", name="ck_returns_status"
        ),
        sa.CheckConstraint("amount_cents > 0", name="ck_returns_amount_positive"),
    )
    op.create_index(
        "uq_returns_open_purchase",
        "returns",
        ["purchase_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_RETURN),
        postgresql_where=sa.text(OPEN_RETURN),
    )
    op.create_index("ix_returns_account_requested", "returns", ["account_id", "requested_at"])
    op.create_index("ix_returns_status_requested", "returns", ["status", "requested_at"])


def downgrade() -> None:
    op.drop_table("returns")
