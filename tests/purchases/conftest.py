"""After-purchase tests: buyers who bought leads through the real cart, checkout and sandbox
gateway, and the metric of returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Account
from aiqleads.models.enums import Tier

# The checkout's fixtures, shared: the app's sandbox gateway and checkout flow.
from tests.checkout.conftest import checkout_flow, sandbox  # noqa: F401
from tests.factories import agent, insert_leads, lead_row, login

RETURNS = "/api/v1/returns"
PURCHASES = "/api/v1/purchases"
EXPORT = "/api/v1/purchases/export.csv"


@dataclass
class Buyer:
    account: Account
    headers: dict[str, str]
    rows: list[dict[str, Any]] = field(default_factory=list)  # leads bought (`public_id` set)
    orders: list[dict[str, Any]] = field(default_factory=list)  # the checkouts' answers

    def lead_ids(self) -> list[str]:
        return [str(r["public_id"]) for r in self.rows]


BuyMore = Callable[..., Awaitable[list[dict[str, Any]]]]
MakeBuyer = Callable[..., Awaitable[Buyer]]


@pytest.fixture
def buy_more(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> BuyMore:
    """The buyer, signed in again at the clock's time (tokens last 15 minutes), holds `n` new
    leads (`lead_row` overrides in `fields`) and checks out; returns the leads' rows."""

    async def more(b: Buyer, n: int = 1, **fields: Any) -> list[dict[str, Any]]:
        rows = [lead_row(settings, cipher, now=clock.now(), **fields) for _ in range(n)]
        await insert_leads(sessions, rows, now=clock.now())
        b.headers = await login(client, b.account.email)
        ids = [str(r["public_id"]) for r in rows]
        held = await client.post("/api/v1/cart/holds", json={"lead_ids": ids}, headers=b.headers)
        assert held.status_code == 200 and held.json()["held"] == n, held.text
        paid = await client.post("/api/v1/checkout", headers=b.headers)
        assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
        b.rows += rows
        b.orders.append(paid.json())
        return rows

    return more


@pytest.fixture
def buyer(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buy_more: BuyMore,
) -> MakeBuyer:
    """A new agent (basic tier: no discount, so it pays each lead's price) that bought `n`
    leads in one order, at the clock's time."""

    async def make(n: int = 1, *, tier: Tier = Tier.BASIC, **fields: Any) -> Buyer:
        account, headers = await agent(client, sessions, clock, tier)
        b = Buyer(account, headers)
        await buy_more(b, n, **fields)
        return b

    return make


def returns_count(outcome: str) -> float:
    """How many returns the metric counted with this outcome, in this process so far."""
    return REGISTRY.get_sample_value("aiq_returns_total", {"outcome": outcome}) or 0.0
