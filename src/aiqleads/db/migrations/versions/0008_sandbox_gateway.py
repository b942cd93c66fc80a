"""The sandbox payment gateway's own records: its payments and refunds.

The sandbox plays a payment provider without a network; like a provider it must remember each
payment (and each idempotency key) across restarts, so that reconciliation after a crash can ask
it what happened. Only `payments.gateways.sandbox` writes these tables.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sandbox_payments",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("request_fingerprint", sa.String(64), nullable=False),
        sa.Column("payment_token", sa.String(64), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("decline_code", sa.String(64)),
        sa.Column("decline_message", sa.String(255)),
        sa.Column("client_secret", sa.String(80), nullable=False),
        sa.Column("description", sa.String(1000)),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("refunded_cents", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("reference", name="uq_sandbox_payments_reference"),
        sa.UniqueConstraint("idempotency_key", name="uq_sandbox_payments_idempotency_key"),
        sa.CheckConstraint("amount_cents > 0", name="ck_sandbox_payments_amount_positive"),
        sa.CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents",
            name="ck_sandbox_payments_refund_within_amount",
        ),
        sa.CheckConstraint(
            "status IN ('succeeded', 'declined', 'requires_action', 'processing')",
            name="ck_sandbox_payments_status",
        ),
    )
    op.create_table(
        "sandbox_refunds",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("request_fingerprint", sa.String(64), nullable=False),
        sa.Column(
            "payment_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "sandbox_payments.id",
                ondelete="CASCADE",
                name="fk_sandbox_refunds_payment_id_sandbox_payments",
            ),
            nullable=False,
        ),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(255)),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("reference", name="uq_sandbox_refunds_reference"),
        sa.UniqueConstraint("idempotency_key", name="uq_sandbox_refunds_idempotency_key"),
        sa.CheckConstraint("amount_cents > 0", name="ck_sandbox_refunds_amount_positive"),
    )
    op.create_index("ix_sandbox_refunds_payment_id", "sandbox_refunds", ["payment_id"])


def downgrade() -> None:
    op.drop_index("ix_sandbox_refunds_payment_id", table_name="sandbox_refunds")
    op.drop_table("sandbox_refunds")
    op.drop_table("sandbox_payments")
