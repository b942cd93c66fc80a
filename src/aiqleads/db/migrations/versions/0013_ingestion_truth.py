"""Ingestion that tells the truth (issue 8): the price's period and the price as listed, every
contact with its provenance (encrypted), listing-agent contact, a description fingerprint, and
scam screening (signals, score, why a lead is withheld, who released it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
_OLD_STATUSES = "'new', 'available', 'held', 'pending', 'sold', 'withdrawn', 'expired', 'returned'"
_NEW_STATUSES = f"{_OLD_STATUSES}, 'withheld'"
_COLUMNS = (
    ("price_period", sa.String(8)),
    ("listed_price_cents", sa.BigInteger()),
    ("contacts_enc", sa.Text()),
    ("listing_agent_phone", sa.String(20)),
    ("listing_agent_email", sa.String(254)),
    ("listing_office_phone", sa.String(20)),
    ("description_hash", sa.String(16)),
    ("risk_score", sa.Float()),
    ("risk_signals", sa.JSON()),
    ("blocked_reason", sa.String(32)),
    ("released_at", TS),
)


def _recreate() -> Literal["auto", "always"]:
    # SQLite cannot alter a CHECK constraint in place: the batch copies the table.
    return "auto" if op.get_bind().dialect.name == "postgresql" else "always"


def upgrade() -> None:
    with op.batch_alter_table("leads", recreate=_recreate()) as batch:
        batch.drop_constraint("ck_leads_status", type_="check")
        batch.create_check_constraint("ck_leads_status", f"status IN ({_NEW_STATUSES})")
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_))
        batch.add_column(
            sa.Column(
                "released_by",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                sa.ForeignKey("accounts.id", name="fk_leads_released_by_accounts"),
            )
        )
    op.create_index("ix_leads_description_hash", "leads", ["description_hash"])


def downgrade() -> None:
    op.drop_index("ix_leads_description_hash", table_name="leads")
    op.execute("UPDATE leads SET status = 'available' WHERE status = 'withheld'")
    with op.batch_alter_table("leads", recreate=_recreate()) as batch:
        batch.drop_constraint("ck_leads_status", type_="check")
        batch.create_check_constraint("ck_leads_status", f"status IN ({_OLD_STATUSES})")
        batch.drop_constraint("fk_leads_released_by_accounts", type_="foreignkey")
        batch.drop_column("released_by")
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
