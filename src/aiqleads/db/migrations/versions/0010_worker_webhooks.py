"""Background work and outbound webhooks: the task outbox (also the dead letters), the periodic
schedule, the "hold expiring" notices already sent, webhook endpoints and their deliveries.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "task_outbox",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("task", sa.String(100), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("kwargs", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", TS),
        sa.Column("claimed_until", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_error", sa.String(2000)),
        sa.Column("failed_at", TS),
        sa.CheckConstraint("status IN ('pending', 'queued', 'dead')", name="ck_task_outbox_status"),
    )
    op.create_index("ix_task_outbox_due", "task_outbox", ["status", "not_before"])
    op.create_table(
        "task_schedule",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("last_slot", sa.BigInteger(), nullable=False),
        sa.Column("enqueued_at", TS, nullable=False),
    )
    op.create_table(
        "hold_notices",
        sa.Column(
            "hold_id",
            sa.BigInteger(),
            sa.ForeignKey("holds.id", ondelete="CASCADE", name="fk_hold_notices_hold_id_holds"),
            primary_key=True,
        ),
        sa.Column("held_until", TS, primary_key=True),
        sa.Column("noticed_at", TS, nullable=False),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.Column(
            "account_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "accounts.id", ondelete="CASCADE", name="fk_webhook_endpoints_account_id_accounts"
            ),
            nullable=False,
        ),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret_enc", sa.String(512), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("public_id", name="uq_webhook_endpoints_public_id"),
    )
    op.create_index("ix_webhook_endpoints_account_id", "webhook_endpoints", ["account_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.Column(
            "endpoint_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "webhook_endpoints.id",
                ondelete="CASCADE",
                name="fk_webhook_deliveries_endpoint_id_webhook_endpoints",
            ),
            nullable=False,
        ),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS),
        sa.Column("last_status", sa.Integer()),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.UniqueConstraint("public_id", name="uq_webhook_deliveries_public_id"),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name="ck_webhook_deliveries_status"
        ),
    )
    op.create_index("ix_webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_endpoint", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhook_endpoints_account_id", table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
    op.drop_table("hold_notices")
    op.drop_table("task_schedule")
    op.drop_index("ix_task_outbox_due", table_name="task_outbox")
    op.drop_table("task_outbox")
