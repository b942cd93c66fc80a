"""Plain factory functions for test data."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.auth import service as auth_service
from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher, blind_index
from aiqleads.leads import writes
from aiqleads.models import Account, Lead, Purchase
from aiqleads.models.enums import LeadStatus, LedgerKind, Role, Tier
from aiqleads.payments import ledger

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


async def make_payment_movement(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime
) -> ledger.Movement:
    """A $15.00 sandbox payment ("pay_1") of a new account of its own, not yet recorded."""
    account = await make_account(sessions, now=now)
    return ledger.Movement(
        kind=LedgerKind.PAYMENT,
        txn=ledger.payment_txn("pay_1"),
        account_id=account.id,
        amount_cents=1500,
        currency="USD",
        gateway="sandbox",
        gateway_reference="pay_1",
    )


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    res = await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert res.status_code == 200, res.text
    return {"Authorization": f"Bearer {res.json()['access_token']}"}


# Statuses a test may ask for: those a source reports, as its listing status (leads.status),
# and the marketplace's own, set through the write path after the insert.
_MARKETPLACE = {"held": LeadStatus.HELD, "new": LeadStatus.NEW}
HOLD_FOR = timedelta(hours=1)  # how long a "held" test lead stays held by its test holder
_LISTING_FOR = {
    "available": None,
    "pending": "Pending",
    "withdrawn": "Withdrawn",
    "expired": "Expired",
    "sold": "Closed",
}


def lead_row(
    settings: Settings, cipher: FieldCipher, *, now: datetime, **overrides: Any
) -> dict[str, Any]:
    """A row for `leads.writes.upsert`. Overrides may also name `status` (written as the
    listing status a source would report) and `published_at`; `insert_leads` sets
    `public_id`."""
    n = next(_seq)
    lat = overrides.pop("latitude", 47.6 + (n % 100) * 0.001)
    lon = overrides.pop("longitude", -122.3 - (n % 100) * 0.001)
    owner_phone = overrides.pop("owner_phone", f"+1206555{100 + n % 100:04d}")
    status = overrides.pop("status", "available")
    row: dict[str, Any] = {
        "source": "test",
        "source_ref": f"ref-{n}",
        "source_url": f"https://listings.example.com/{n}",
        "kind": "for_sale",
        "listing_status": _LISTING_FOR.get(status),
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
        "address_key": None,
        "latitude": lat,
        "longitude": lon,
        "geocode_precision": "exact",
        "owner_name_enc": cipher.encrypt(overrides.pop("owner_name", f"Owner {n}")),
        "owner_phone_enc": cipher.encrypt(owner_phone),
        "owner_email_enc": cipher.encrypt(overrides.pop("owner_email", f"owner{n}@example.com")),
        "owner_phone_hmac": blind_index(settings.secret_key, owner_phone),
        "listing_agent": None,
        "listing_office": None,
        "listed_at": now - timedelta(days=3),
        "published_at": now - timedelta(hours=2),
        "score": 0.6,
        "model_version": "rules-1",
        "price_cents": 2000,
        "price_currency": "USD",
    }
    row.update(overrides)
    if status in _MARKETPLACE:
        row["_status"] = _MARKETPLACE[status]
    return row


async def insert_leads(
    sessions: async_sessionmaker[AsyncSession],
    rows: list[dict[str, Any]],
    *,
    now: datetime | None = None,
) -> None:
    """Store the rows through the write path and set each row's `public_id`."""
    when = now or max(r["published_at"] for r in rows)
    later = {(r["source"], r["source_ref"]): r.pop("_status") for r in rows if "_status" in r}
    holder = None
    if LeadStatus.HELD in later.values():
        holder = await make_account(sessions, now=when, email=f"holder{next(_seq)}@example.com")
    async with transaction(sessions) as session:
        ids = await writes.upsert(session, rows, now=when, cause="test")
        for key, status in later.items():
            if status is LeadStatus.HELD:
                assert holder is not None
                taken = await writes.take_hold(
                    session,
                    ids[key],
                    account_id=holder.id,
                    until=when + HOLD_FOR,
                    now=when,
                    visible_before=None,
                )
                assert taken
                continue
            await writes.set_status(
                session,
                [ids[key]],
                status,
                now=when,
                cause="test",
                only_from=[LeadStatus.AVAILABLE],
            )
        found = await session.execute(
            select(Lead.id, Lead.public_id).where(Lead.id.in_(list(ids.values())))
        )
        public = {lead_id: public_id for lead_id, public_id in found}
    for row in rows:
        row["public_id"] = public[ids[(row["source"], row["source_ref"])]]


async def record_purchase(
    sessions: async_sessionmaker[AsyncSession],
    *,
    lead_public_id: uuid.UUID,
    account: Account,
    now: datetime,
    price_cents: int = 2000,
) -> None:
    """A sale as checkout will record it: the purchase row, the lead sold through the write
    path."""
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
        sold = await writes.set_status(
            session,
            [lead_id],
            LeadStatus.SOLD,
            now=now,
            cause="purchase",
            only_from=(LeadStatus.AVAILABLE, LeadStatus.HELD),
        )
        assert sold == [lead_id]


async def catalog_pages(
    client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every item of a catalog search, following `next_cursor` page by page."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        page = await client.get(
            "/api/v1/leads",
            params={**params, **({"cursor": cursor} if cursor else {})},
            headers=headers,
        )
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


async def hold_leads(
    client: httpx.AsyncClient, headers: dict[str, str], ids: list[Any], **body: Any
) -> dict[str, Any]:
    """POST /api/v1/cart/holds for `ids` (with `body`'s other members): the answer, asserted 200."""
    res = await client.post(
        "/api/v1/cart/holds", json={"lead_ids": [str(i) for i in ids], **body}, headers=headers
    )
    assert res.status_code == 200, res.text
    answer: dict[str, Any] = res.json()
    return answer


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
