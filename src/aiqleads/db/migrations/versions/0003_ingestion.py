"""Ingestion: lead provenance, price history, the quarantine, and the address key on leads.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _lead_fk(table: str) -> sa.Column[int]:
    return sa.Column(
        "lead_id",
        sa.BigInteger(),
        sa.ForeignKey("leads.id", ondelete="CASCADE", name=f"fk_{table}_lead_id_leads"),
        nullable=False,
    )


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("address_key", sa.String(300)))
    op.create_index("ix_leads_address_key", "leads", ["address_key"])

    op.create_table(
        "lead_sources",
        sa.Column("id", BigIntPK, primary_key=True),
        _lead_fk("lead_sources"),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_ref", sa.String(128), nullable=False),
        sa.Column("source_url", sa.Text()),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("asking_price_cents", sa.BigInteger()),
        sa.Column("match_rule", sa.String(16), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.UniqueConstraint("source", "source_ref", name="uq_lead_sources_source"),
    )
    op.create_index("ix_lead_sources_lead_id", "lead_sources", ["lead_id"])

    op.create_table(
        "lead_price_history",
        sa.Column("id", BigIntPK, primary_key=True),
        _lead_fk("lead_price_history"),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("asking_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("observed_at", TS, nullable=False),
        sa.UniqueConstraint(
            "lead_id",
            "source",
            "observed_at",
            "asking_price_cents",
            name="uq_lead_price_history_obs",
        ),
    )

    op.create_table(
        "quarantine",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_ref", sa.String(128)),
        sa.Column("metro", sa.String(32)),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retried_at", TS),
        sa.Column("resolved_at", TS),
        sa.UniqueConstraint("source", "payload_hash", name="uq_quarantine_payload"),
    )
    op.create_index("ix_quarantine_source_resolved", "quarantine", ["source", "resolved_at"])


def downgrade() -> None:
    op.drop_table("quarantine")
    op.drop_table("lead_price_history")
    op.drop_table("lead_sources")
    op.drop_index("ix_leads_address_key", table_name="leads")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("address_key")
