"""Checkout tests: agents with held leads, and the app's own sandbox gateway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.checkout.flow import Checkout
from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Account, SandboxPayment
from aiqleads.models.enums import Tier
from aiqleads.payments.gateways.sandbox import SandboxGateway
from tests.factories import agent, insert_leads, lead_row
from tests.payments.conftest import fake_stripe, fake_stripe_server

__all__ = ["fake_stripe", "fake_stripe_server"]  # the Stripe fake's fixtures, for checkout too

HoldingAgent = Callable[..., Awaitable[tuple[Account, dict[str, str], list[dict[str, Any]]]]]


@pytest.fixture
def sandbox(app: FastAPI) -> SandboxGateway:
    gateway = app.state.aiq.gateway
    assert isinstance(gateway, SandboxGateway)
    return gateway


@pytest.fixture
def checkout_flow(app: FastAPI) -> Checkout:
    state = app.state.aiq
    return Checkout(sessions=state.sessions, gateway=state.gateway, clock=state.clock)


@pytest.fixture
def holding_agent(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> HoldingAgent:
    """An agent of a tier holding `n` new leads of `price_cents` each (before the discount)."""

    async def make(
        n: int = 2, *, tier: Tier = Tier.BASIC, price_cents: int = 2000
    ) -> tuple[Account, dict[str, str], list[dict[str, Any]]]:
        factors = {"base_cents": price_cents, "quality": 1.0, "demand": 1.0, "market": 1.0}
        rows = [
            lead_row(
                settings, cipher, now=clock.now(), price_cents=price_cents, price_factors=factors
            )
            for _ in range(n)
        ]
        await insert_leads(sessions, rows, now=clock.now())
        account, headers = await agent(client, sessions, clock, tier)
        res = await client.post(
            "/api/v1/cart/holds",
            json={"lead_ids": [str(r["public_id"]) for r in rows]},
            headers=headers,
        )
        assert res.status_code == 200 and res.json()["held"] == n, res.text
        return account, headers, rows

    return make


async def charges(sessions: async_sessionmaker[AsyncSession]) -> int:
    """How many payments the sandbox recorded (a charge each, whatever their outcome)."""
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(SandboxPayment)) or 0)
