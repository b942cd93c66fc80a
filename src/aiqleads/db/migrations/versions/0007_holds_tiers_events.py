"""The marketplace's first tables: holds, tier policies an admin can edit, the event log.

* `leads.held_by` / `leads.held_until`: the current hold of a lead, taken with one conditional
  UPDATE; a hold past `held_until` counts as none for every reader at once;
* `holds`: each hold's record (price fixed when taken, extensions, how it ended), and
  `cart_locks`, the row each cart change of an account writes first;
* `tier_policies`: an admin's setting of a tier's policy (the settings are the defaults);
* `lead_events`: the append-only event log (view, hold, release, extend, expire, purchase,
  return).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(column: str, table: str, target: str, *, cascade: bool = False) -> sa.Column[int]:
    return sa.Column(
        column,
        sa.BigInteger(),
        sa.ForeignKey(
            f"{target}.id",
            ondelete="CASCADE" if cascade else None,
            name=f"fk_{table}_{column}_{target}",
        ),
        nullable=False,
    )


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(
            sa.Column(
                "held_by",
                sa.BigInteger(),
                sa.ForeignKey("accounts.id", name="fk_leads_held_by_accounts"),
            )
        )
        batch.add_column(sa.Column("held_until", TS))
        # A held lead always says by whom and until when; nothing else carries a hold.
        batch.create_check_constraint(
            "ck_leads_hold",
            "(status = 'held') = (held_by IS NOT NULL AND held_until IS NOT NULL)",
        )
    op.create_index("ix_leads_held_by", "leads", ["held_by", "held_until"])
    op.create_index("ix_leads_status_held_until", "leads", ["status", "held_until"])

    op.create_table(
        "holds",
        sa.Column("id", BigIntPK, primary_key=True),
        _fk("lead_id", "holds", "leads", cascade=True),
        _fk("account_id", "holds", "accounts"),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("taken_at", TS, nullable=False),
        sa.Column("held_until", TS, nullable=False),
        sa.Column("extensions_used", sa.Integer(), nullable=False),
        sa.Column("ended_at", TS),
        sa.Column("end_reason", sa.String(16)),
        sa.CheckConstraint("price_cents > 0", name="ck_holds_price_positive"),
        sa.CheckConstraint("extensions_used >= 0", name="ck_holds_extensions"),
    )
    op.create_index("ix_holds_account_active", "holds", ["account_id", "ended_at", "held_until"])
    op.create_index("ix_holds_lead", "holds", ["lead_id", "taken_at"])

    op.create_table(
        "cart_locks",
        sa.Column(
            "account_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "accounts.id", ondelete="CASCADE", name="fk_cart_locks_account_id_accounts"
            ),
            primary_key=True,
        ),
        sa.Column("locked_at", TS, nullable=False),
    )

    op.create_table(
        "tier_policies",
        sa.Column("tier", sa.String(16), primary_key=True),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "hold_minutes",
                "hold_extensions",
                "cart_limit",
                "priority_delay_minutes",
                "discount_percent",
                "rate_limit_per_minute",
                "bulk_limit",
            )
        ),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column(
            "updated_by",
            sa.BigInteger(),
            sa.ForeignKey("accounts.id", name="fk_tier_policies_updated_by_accounts"),
        ),
        sa.CheckConstraint("tier IN ('basic', 'pro', 'enterprise')", name="ck_tier_policies_tier"),
    )

    op.create_table(
        "lead_events",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column(
            "account_id",
            sa.BigInteger(),
            sa.ForeignKey("accounts.id", name="fk_lead_events_account_id_accounts"),
        ),
        _fk("lead_id", "lead_events", "leads", cascade=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("data", sa.JSON()),
    )
    op.create_index("ix_lead_events_lead_at", "lead_events", ["lead_id", "at"])
    op.create_index("ix_lead_events_account_at", "lead_events", ["account_id", "at"])


def downgrade() -> None:
    op.drop_table("lead_events")
    op.drop_table("tier_policies")
    op.drop_table("cart_locks")
    op.drop_table("holds")
    op.drop_index("ix_leads_status_held_until", table_name="leads")
    op.drop_index("ix_leads_held_by", table_name="leads")
    with op.batch_alter_table("leads") as batch:
        batch.drop_constraint("ck_leads_hold", type_="check")
        batch.drop_column("held_until")
        batch.drop_column("held_by")
