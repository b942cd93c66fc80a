"""Plain factory functions for test data."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.auth import service as auth_service
from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher, blind_index
from aiqleads.kit.h3cells import cells_for
from aiqleads.leads import store
from aiqleads.models import Account, Purchase
from aiqleads.models.enums import Role, Tier

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


async def make_account(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    role: Role = Role.AGENT,
    tier: Tier = Tier.BASIC,
    email: str | None = None,
    password: str = PASSWORD,
) -> Account:
    async with transaction(sessions) as session:
        return await auth_service.create_account(
            session,
            email=email or f"user{next(_seq)}@example.com",
            password=password,
            role=role,
            tier=tier,
            now=now,
        )


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    res = await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert res.status_code == 200, res.text
    return {"Authorization": f"Bearer {res.json()['access_token']}"}


def lead_row(
    settings: Settings, cipher: FieldCipher, *, now: datetime, **overrides: Any
) -> dict[str, Any]:
    n = next(_seq)
    lat = overrides.pop("latitude", 47.6 + (n % 100) * 0.001)
    lon = overrides.pop("longitude", -122.3 - (n % 100) * 0.001)
    r7, r8, r9 = cells_for(lat, lon)
    owner_phone = overrides.pop("owner_phone", f"+1206555{100 + n % 100:04d}")
    row: dict[str, Any] = {
        "public_id": uuid.uuid4(),
        "source": "test",
        "source_ref": f"ref-{n}",
        "source_url": f"https://listings.example.com/{n}",
        "kind": "for_sale",
        "status": "available",
        "title": f"Test home {n}",
        "property_type": "single_family",
        "bedrooms": 3,
        "bathrooms": 2.0,
        "living_area_sqft": 1800,
        "lot_sqft": 5000,
        "year_built": 1990,
        "asking_price_cents": 50_000_000,
        "currency": "USD",
        "street_address": f"{n} Test Ave",
        "unit": None,
        "city": "Seattle",
        "state": "WA",
        "zip_code": "98101",
        "latitude": lat,
        "longitude": lon,
        "geocode_precision": "exact",
        "h3_r7": r7,
        "h3_r8": r8,
        "h3_r9": r9,
        "owner_name_enc": cipher.encrypt(overrides.pop("owner_name", f"Owner {n}")),
        "owner_phone_enc": cipher.encrypt(owner_phone),
        "owner_email_enc": cipher.encrypt(overrides.pop("owner_email", f"owner{n}@example.com")),
        "owner_phone_hmac": blind_index(settings.secret_key, owner_phone),
        "listing_agent": None,
        "listing_office": None,
        "listed_at": now - timedelta(days=3),
        "published_at": now - timedelta(hours=2),
        "first_seen_at": now - timedelta(hours=2),
        "updated_at": now - timedelta(hours=2),
        "score": 0.6,
        "model_version": "rules-1",
        "price_cents": 2000,
        "price_currency": "USD",
    }
    row.update(overrides)
    return row


async def insert_leads(
    sessions: async_sessionmaker[AsyncSession], rows: list[dict[str, Any]]
) -> None:
    now = max(r["updated_at"] for r in rows)
    async with transaction(sessions) as session:
        await store.upsert_leads(session, rows, now=now)


async def record_purchase(
    sessions: async_sessionmaker[AsyncSession],
    *,
    lead_public_id: uuid.UUID,
    account: Account,
    now: datetime,
    price_cents: int = 2000,
) -> None:
    from sqlalchemy import select, update

    from aiqleads.models import Lead

    async with transaction(sessions) as session:
        lead_id = await session.scalar(select(Lead.id).where(Lead.public_id == lead_public_id))
        assert lead_id is not None
        session.add(
            Purchase(
                lead_id=lead_id,
                account_id=account.id,
                price_cents=price_cents,
                currency="USD",
                purchased_at=now,
            )
        )
        await session.execute(update(Lead).where(Lead.id == lead_id).values(status="sold"))


async def agent(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    tier: Tier = Tier.ENTERPRISE,
) -> tuple[Account, dict[str, str]]:
    """A new agent account and the headers of its signed-in session."""
    account = await make_account(sessions, now=clock.now(), tier=tier)
    return account, await login(client, account.email)


async def admin(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> dict[str, str]:
    """The headers of a new admin's signed-in session."""
    account = await make_account(sessions, now=clock.now(), role=Role.ADMIN, tier=Tier.ENTERPRISE)
    return await login(client, account.email)
