"""Accounts, API keys, refresh tokens, leads and purchases.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("custom_cart_limit", sa.Integer()),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("public_id", name="uq_accounts_public_id"),
        sa.UniqueConstraint("email", name="uq_accounts_email"),
        sa.CheckConstraint("role IN ('admin', 'agent')", name="ck_accounts_role"),
        sa.CheckConstraint("tier IN ('basic', 'pro', 'enterprise')", name="ck_accounts_tier"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column(
            "account_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "accounts.id", ondelete="CASCADE", name="fk_api_keys_account_id_accounts"
            ),
            nullable=False,
        ),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS),
        sa.Column("revoked_at", TS),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    )
    op.create_index("ix_api_keys_account_id", "api_keys", ["account_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column(
            "account_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "accounts.id", ondelete="CASCADE", name="fk_refresh_tokens_account_id_accounts"
            ),
            nullable=False,
        ),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.Column("revoked_at", TS),
        sa.UniqueConstraint("jti", name="uq_refresh_tokens_jti"),
    )
    op.create_index("ix_refresh_tokens_account_id", "refresh_tokens", ["account_id"])

    op.create_table(
        "leads",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_ref", sa.String(128), nullable=False),
        sa.Column("source_url", sa.Text()),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("property_type", sa.String(40)),
        sa.Column("bedrooms", sa.Integer()),
        sa.Column("bathrooms", sa.Float()),
        sa.Column("living_area_sqft", sa.Integer()),
        sa.Column("lot_sqft", sa.Integer()),
        sa.Column("year_built", sa.Integer()),
        sa.Column("asking_price_cents", sa.BigInteger()),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("street_address", sa.String(200)),
        sa.Column("unit", sa.String(40)),
        sa.Column("city", sa.String(100)),
        sa.Column("state", sa.String(2)),
        sa.Column("zip_code", sa.String(5)),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
        sa.Column("geocode_precision", sa.String(16), nullable=False),
        sa.Column("h3_r7", sa.BigInteger()),
        sa.Column("h3_r8", sa.BigInteger()),
        sa.Column("h3_r9", sa.BigInteger()),
        sa.Column("owner_name_enc", sa.Text()),
        sa.Column("owner_phone_enc", sa.Text()),
        sa.Column("owner_email_enc", sa.Text()),
        sa.Column("owner_phone_hmac", sa.String(64)),
        sa.Column("listing_agent", sa.String(200)),
        sa.Column("listing_office", sa.String(200)),
        sa.Column("listed_at", TS),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("score", sa.Float()),
        sa.Column("model_version", sa.String(40)),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("price_currency", sa.String(3), nullable=False),
        sa.UniqueConstraint("public_id", name="uq_leads_public_id"),
        sa.UniqueConstraint("source", "source_ref", name="uq_leads_source"),
        sa.CheckConstraint(
            "kind IN ('fsbo', 'for_sale', 'for_rent', 'expired', 'other')", name="ck_leads_kind"
        ),
        sa.CheckConstraint(
            "status IN ('new', 'available', 'held', 'sold', 'withdrawn', 'expired', 'returned')",
            name="ck_leads_status",
        ),
        sa.CheckConstraint(
            "latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="ck_leads_latitude"
        ),
        sa.CheckConstraint(
            "longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="ck_leads_longitude"
        ),
        sa.CheckConstraint("price_cents > 0", name="ck_leads_price_positive"),
    )
    op.create_index("ix_leads_status_published", "leads", ["status", "published_at", "id"])
    op.create_index("ix_leads_status_price", "leads", ["status", "price_cents", "id"])
    op.create_index("ix_leads_status_asking", "leads", ["status", "asking_price_cents", "id"])
    op.create_index("ix_leads_zip_published", "leads", ["zip_code", "published_at", "id"])
    op.create_index("ix_leads_city", "leads", ["city"])
    op.create_index("ix_leads_lat_lon", "leads", ["latitude", "longitude"])
    op.create_index("ix_leads_h3_r8", "leads", ["h3_r8"])
    op.create_index("ix_leads_owner_phone_hmac", "leads", ["owner_phone_hmac"])

    if op.get_bind().dialect.name == "postgresql":
        # The point is derived from latitude/longitude by the database itself, so no writer
        # can let the two disagree. GiST indexes serve bbox (geometry) and metre (geography)
        # queries.
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        op.execute(
            "ALTER TABLE leads ADD COLUMN geom geometry(Point, 4326) GENERATED ALWAYS AS "
            "(CASE WHEN latitude IS NOT NULL AND longitude IS NOT NULL "
            "THEN ST_SetSRID(ST_MakePoint(longitude, latitude), 4326) END) STORED"
        )
        op.execute("CREATE INDEX ix_leads_geom ON leads USING gist (geom)")
        op.execute("CREATE INDEX ix_leads_geog ON leads USING gist ((geom::geography))")

    op.create_table(
        "purchases",
        sa.Column("id", BigIntPK, primary_key=True),
        sa.Column(
            "lead_id",
            sa.BigInteger(),
            sa.ForeignKey("leads.id", ondelete="RESTRICT", name="fk_purchases_lead_id_leads"),
            nullable=False,
        ),
        sa.Column(
            "account_id",
            sa.BigInteger(),
            sa.ForeignKey("accounts.id", name="fk_purchases_account_id_accounts"),
            nullable=False,
        ),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("purchased_at", TS, nullable=False),
        # Exclusivity: a lead is sold at most once, enforced here and not only in code.
        sa.UniqueConstraint("lead_id", name="uq_purchases_lead_id"),
    )
    op.create_index("ix_purchases_account_id", "purchases", ["account_id"])


def downgrade() -> None:
    op.drop_table("purchases")
    op.drop_table("leads")
    op.drop_table("refresh_tokens")
    op.drop_table("api_keys")
    op.drop_table("accounts")
