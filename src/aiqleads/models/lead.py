from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


def _present(column: str) -> dict[str, Any]:
    """A partial index's predicate on both databases: rows where `column` has a value."""
    where = text(f"{column} IS NOT NULL")
    return {"postgresql_where": where, "sqlite_where": where}


class Lead(Base):
    """A property or owner lead. Only `aiqleads.leads.writes` writes this table.

    Two locations: the exact point (latitude, longitude, h3_r9), shown to the buyer and admins,
    and the preview cell (h3_r8, its centre in preview_latitude/longitude, and its parent h3_r7),
    from which every answer to an agent who has not bought the lead is computed. On PostgreSQL
    the table also has generated PostGIS points `geom` (exact) and `preview_geom` (cell centre);
    they are not mapped here because only geo and catalog SQL reads them.
    """

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("source", "source_ref", name="uq_leads_source"),
        # Every sort order ends with the public id: a random, public tie-breaker (never the row
        # id, whose order would tell when a lead was stored).
        # On SQLite the migrations append the columns searches filter on (0025); PostgreSQL has
        # `ix_leads_market_newest` on the same key, with them INCLUDEd, instead (0006).
        Index("ix_leads_status_published", "status", "published_at", "public_id"),
        Index("ix_leads_status_price", "status", "price_cents", "public_id"),
        Index("ix_leads_status_asking", "status", "asking_price_cents", "public_id"),
        Index("ix_leads_status_bucket", "status", "score_bucket", "public_id"),
        # With the visibility rule's columns (0032): recommendation candidates of a ZIP read
        # from the index alone, as those of a cell do (ix_leads_cell_published).
        Index(
            "ix_leads_zip_published",
            "zip_code",
            "published_at",
            "public_id",
            "status",
            "held_until",
        ),
        Index("ix_leads_city_published", "city_key", "published_at", "public_id"),
        Index("ix_leads_lat_lon", "latitude", "longitude"),
        Index("ix_leads_preview_lat_lon", "preview_latitude", "preview_longitude"),
        Index("ix_leads_metro_status", "metro", "status"),
        Index("ix_leads_address_key", "address_key"),
        # Partial (0027): most leads have none of these values, and every query of these
        # indexes compares the column, which implies it is not null.
        Index("ix_leads_held_by", "held_by", "held_until", **_present("held_by")),
        Index("ix_leads_status_held_until", "status", "held_until", **_present("held_until")),
        Index("ix_leads_owner_phone_hmac", "owner_phone_hmac", **_present("owner_phone_hmac")),
        Index("ix_leads_description_hash", "description_hash", **_present("description_hash")),
        # Agents' office tallies per resolution-7 region (geo.repository.competitors).
        Index(
            "ix_leads_office_region",
            "h3_r7",
            "status",
            "published_at",
            "listing_office",
            "listing_agent",
        ),
        # Recommendation candidates: a cell's latest available leads (recommend.repository).
        Index(
            "ix_leads_cell_published",
            "h3_r8",
            "published_at",
            "public_id",
            "status",
            "held_until",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    source: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str] = mapped_column(String(128))
    source_url: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # The source's own status in RESO StandardStatus terms ("Active", "Pending", "Closed"…).
    listing_status: Mapped[str | None] = mapped_column(String(24))
    title: Mapped[str | None] = mapped_column(Text)

    property_type: Mapped[str | None] = mapped_column(String(40))
    bedrooms: Mapped[int | None] = mapped_column(Integer)
    bathrooms: Mapped[float | None] = mapped_column(Float)
    living_area_sqft: Mapped[int | None] = mapped_column(Integer)
    lot_sqft: Mapped[int | None] = mapped_column(Integer)
    year_built: Mapped[int | None] = mapped_column(Integer)
    # Per month for rents (a weekly rent is converted, see `price_period`), the price for sales.
    asking_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # The period the source priced the lead in: "sale", "month", "week" or "year" (nightly rates
    # are short-term rentals and never stored as leads), and the price as the source wrote it.
    price_period: Mapped[str | None] = mapped_column(String(8))
    listed_price_cents: Mapped[int | None] = mapped_column(BigInteger)

    street_address: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(100))
    city_key: Mapped[str | None] = mapped_column(String(100))  # kit.places.city_key(city)
    state: Mapped[str | None] = mapped_column(String(2))
    zip_code: Mapped[str | None] = mapped_column(String(5))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    geocode_precision: Mapped[str] = mapped_column(String(16), default="none")
    preview_latitude: Mapped[float | None] = mapped_column(Float)
    preview_longitude: Mapped[float | None] = mapped_column(Float)
    metro: Mapped[str | None] = mapped_column(String(32))  # of the preview cell's centre
    # The ZCTA (ZIP code) holding the exact point, None outside every ZIP polygon (migration
    # 0040): finer than the preview cell, so admins' answers only (leads.visibility). No index:
    # admins' ZIP answers group on it (tallies, or one scan), none seeks on it.
    zcta: Mapped[str | None] = mapped_column(String(5))
    # "9163 nw 26th st|o31|33322" (normalize.address.address_key): cross-source dedupe matches it.
    address_key: Mapped[str | None] = mapped_column(String(300))
    h3_r7: Mapped[int | None] = mapped_column(BigInteger)  # the parent of h3_r8
    h3_r8: Mapped[int | None] = mapped_column(BigInteger)  # the preview cell
    h3_r9: Mapped[int | None] = mapped_column(BigInteger)  # of the exact point

    # Owner contact, encrypted ("key_id:token"); never logged, only shown to the buyer or an admin.
    owner_name_enc: Mapped[str | None] = mapped_column(Text)
    owner_phone_enc: Mapped[str | None] = mapped_column(Text)
    owner_email_enc: Mapped[str | None] = mapped_column(Text)
    owner_phone_hmac: Mapped[str | None] = mapped_column(String(64))

    # Every phone and e-mail the source gave, with whose it is (owner, listing_agent, office,
    # unknown), where it came from (a field or the text) and how it was read: an encrypted JSON
    # list (ingestion.contacts). Only the owner's are the owner_* columns above.
    contacts_enc: Mapped[str | None] = mapped_column(Text)

    listing_agent: Mapped[str | None] = mapped_column(String(200))
    listing_office: Mapped[str | None] = mapped_column(String(200))
    # Listing-agent data (never sold as owner contact; competitor analytics read it).
    listing_agent_phone: Mapped[str | None] = mapped_column(String(20))
    listing_agent_email: Mapped[str | None] = mapped_column(String(254))
    listing_office_phone: Mapped[str | None] = mapped_column(String(20))
    # A fingerprint of the description, to find the same text on listings in other cities.
    description_hash: Mapped[str | None] = mapped_column(String(16))

    # Scam and spam screening (ingestion.screening): the signals with their evidence, their
    # summed weight, and, when that passed the threshold, why the lead is withheld from sale
    # (status "withheld") until an admin releases it.
    risk_score: Mapped[float | None] = mapped_column(Float)
    risk_signals: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    blocked_reason: Mapped[str | None] = mapped_column(String(32))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))

    listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)  # on the marketplace from then
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # The current hold, when status is "held": a hold past `held_until` counts as none, at once,
    # for every reader (leads.visibility); the cart's `holds` rows keep each hold's history.
    held_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    score: Mapped[float | None] = mapped_column(Float)
    score_bucket: Mapped[str | None] = mapped_column(String(8))  # what agents see of the score
    model_version: Mapped[str | None] = mapped_column(String(40))
    # The model's top contributions in words: [{"feature", "text", "direction", "preview",
    # "buyer"}] (0020; scoring.reasons.top_reasons says which reader sees which)
    score_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    price_cents: Mapped[int] = mapped_column(Integer)
    # How price_cents was made: {"base_cents", "quality", "demand", "market", "cents"} (0020)
    price_factors: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    price_currency: Mapped[str] = mapped_column(String(3), default="USD")
