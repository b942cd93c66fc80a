"""Checkout: orders and their items, the append-only ledger, stored gateway events, and the
order a purchase came from.

The ledger is guarded by the database itself: its rows are never updated or deleted, and a
transaction's states follow pending → completed | failed, completed → refunded, nothing else
(triggers on SQLite and PostgreSQL; `uq_ledger_entries_txn_state` records each state once).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The transition rule, as SQL over NEW and the transaction's latest recorded state.
_LAST = "(SELECT state FROM ledger_entries WHERE txn = NEW.txn ORDER BY id DESC LIMIT 1)"
_ALLOWED = (
    "(NEW.state = 'pending' AND NOT EXISTS (SELECT 1 FROM ledger_entries WHERE txn = NEW.txn))"  # noqa: S608
    f" OR (NEW.state IN ('completed', 'failed') AND {_LAST} = 'pending')"
    f" OR (NEW.state = 'refunded' AND {_LAST} = 'completed')"
)
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries"
    " BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END",
    "CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries"
    " BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END",
    "CREATE TRIGGER ledger_entries_transition BEFORE INSERT ON ledger_entries"
    f" WHEN NOT ({_ALLOWED})"
    " BEGIN SELECT RAISE(ABORT, 'ledger transition not allowed'); END",
)
_POSTGRES_FUNCTION = f"""
CREATE FUNCTION ledger_entries_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'ledger_entries is append-only' USING ERRCODE = 'restrict_violation';
    END IF;
    IF {_ALLOWED} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'ledger transition to % not allowed for %', NEW.state, NEW.txn
        USING ERRCODE = 'check_violation';
END
$$
"""


def _fk(column: str, table: str, target: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(
        column,
        sa.BigInteger(),
        sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        _fk("account_id", "orders", "accounts"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("gateway", sa.String(16), nullable=False),
        sa.Column("payment_token", sa.String(255)),
        sa.Column("payment_reference", sa.String(255)),
        sa.Column("decline_code", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("paid_at", TS),
        sa.UniqueConstraint("public_id", name="uq_orders_public_id"),
        sa.UniqueConstraint("account_id", "idempotency_key", name="uq_orders_idempotency"),
        sa.CheckConstraint(
            "status IN ('pending', 'requires_action', 'paid', 'failed')", name="status"
        ),
        sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
    )
    op.create_index("ix_orders_account_id", "orders", ["account_id"])
    op.create_index("ix_orders_status_created", "orders", ["status", "created_at"])
    op.create_index("ix_orders_payment_reference", "orders", ["payment_reference"])

    op.create_table(
        "order_items",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column(
            "order_id",
            sa.BigInteger(),
            sa.ForeignKey("orders.id", ondelete="CASCADE", name="fk_order_items_order_id_orders"),
            nullable=False,
        ),
        _fk("lead_id", "order_items", "leads"),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.UniqueConstraint("order_id", "lead_id", name="uq_order_items_lead"),
    )
    op.create_index("ix_order_items_order_id", "order_items", ["order_id"])

    op.create_table(
        "ledger_entries",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("txn", sa.String(300), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _fk("order_id", "ledger_entries", "orders", nullable=True),
        _fk("account_id", "ledger_entries", "accounts"),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("gateway", sa.String(16), nullable=False),
        sa.Column("gateway_reference", sa.String(255)),
        sa.Column("recorded_at", TS, nullable=False),
        sa.UniqueConstraint("txn", "state", name="uq_ledger_entries_txn_state"),
        sa.CheckConstraint("kind IN ('order', 'payment', 'refund')", name="kind"),
        sa.CheckConstraint("state IN ('pending', 'completed', 'failed', 'refunded')", name="state"),
        sa.CheckConstraint("amount_cents >= 0", name="amount"),
    )
    op.create_index("ix_ledger_entries_order", "ledger_entries", ["order_id"])
    op.create_index("ix_ledger_entries_txn", "ledger_entries", ["txn", "id"])

    op.create_table(
        "payment_events",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("gateway", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payment_reference", sa.String(255)),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS),
        sa.UniqueConstraint("gateway", "event_id", name="uq_payment_events_event"),
    )

    with op.batch_alter_table("purchases") as batch:
        batch.add_column(
            sa.Column(
                "order_id",
                sa.BigInteger(),
                sa.ForeignKey("orders.id", name="fk_purchases_order_id_orders"),
            )
        )
    op.create_index("ix_purchases_order_id", "purchases", ["order_id"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_FUNCTION)
        op.execute(
            "CREATE TRIGGER ledger_entries_guard BEFORE INSERT OR UPDATE OR DELETE ON"
            " ledger_entries FOR EACH ROW EXECUTE FUNCTION ledger_entries_guard()"
        )
    else:
        for ddl in _SQLITE_TRIGGERS:
            op.execute(ddl)


def downgrade() -> None:
    op.drop_index("ix_purchases_order_id", table_name="purchases")
    with op.batch_alter_table("purchases") as batch:
        batch.drop_column("order_id")
    op.drop_table("payment_events")
    op.drop_table("ledger_entries")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ledger_entries_guard()")
    op.drop_table("order_items")
    op.drop_table("orders")
