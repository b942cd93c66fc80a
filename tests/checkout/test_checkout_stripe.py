"""Checkout end to end with the Stripe gateway, against the local Stripe fake: the same flow
as with the sandbox, the PaymentIntent paid, a 3-D Secure payment finished by Stripe's
signed webhook, and the signature checked with Stripe's own scheme."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.app import create_app
from aiqleads.config import PaymentSettings, Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Order, Purchase
from aiqleads.models.enums import Tier
from aiqleads.payments.gateways.signing import signature_header
from tests.factories import agent, insert_leads, lead_row
from tests.payments import fake_stripe as fs
from tests.payments.fake_stripe import FakeStripe


@pytest.fixture
async def stripe_client(
    engine: object, settings: Settings, clock: FrozenClock, fake_stripe: FakeStripe
) -> AsyncIterator[httpx.AsyncClient]:
    payments = PaymentSettings(
        gateway="stripe",
        stripe_api_key=fs.API_KEY,
        stripe_webhook_secret=fs.WEBHOOK_SECRET,
        stripe_api_base=fake_stripe.url,
        stripe_max_network_retries=0,
    )
    app: FastAPI = create_app(settings.model_copy(update={"payments": payments}), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_stripe_checkout_pays_and_a_3ds_payment_is_finished_by_webhook(
    stripe_client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    fake_stripe: FakeStripe,
) -> None:
    # Given two leads, each held by an agent
    rows = [lead_row(settings, cipher, now=clock.now()) for _ in range(2)]
    await insert_leads(sessions, rows)
    agents = [await agent(stripe_client, sessions, clock, Tier.BASIC) for _ in range(2)]
    for (_, headers), row in zip(agents, rows, strict=True):
        held = await stripe_client.post(
            "/api/v1/cart/holds", json={"lead_ids": [str(row["public_id"])]}, headers=headers
        )
        assert held.json()["held"] == 1
    # When the first pays with a card that goes through, and the second with one that asks
    # for 3-D Secure
    paid = await stripe_client.post(
        "/api/v1/checkout", json={"payment_token": fs.SUCCESS}, headers=agents[0][1]
    )
    pending = await stripe_client.post(
        "/api/v1/checkout", json={"payment_token": fs.REQUIRES_ACTION}, headers=agents[1][1]
    )
    # Then the first is paid at once; the second waits
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert pending.status_code == 202 and pending.json()["status"] == "requires_action"
    # With what Stripe.js needs to show the buyer the challenge
    assert pending.json()["client_secret"].startswith("pi_")
    assert pending.json()["next_action"] == "use_stripe_sdk"
    async with sessions() as session:
        reference = await session.scalar(
            select(Order.payment_reference).where(Order.status == "requires_action")
        )
    assert reference is not None and reference.startswith("pi_")
    # When the buyer passes the challenge and Stripe posts its signed event
    fake_stripe.complete_action(reference)
    intent = fake_stripe.intents[reference]
    body = fake_stripe.event("payment_intent.succeeded", intent)
    # Stripe's library judges the signature's age by the real clock, not the test's
    header = signature_header(body, fs.WEBHOOK_SECRET, timestamp=int(time.time()))
    url = "/api/v1/payments/webhooks/stripe"
    res = await stripe_client.post(url, content=body, headers={"Stripe-Signature": header})
    assert res.status_code == 200, res.text
    # Then the second order is paid; the same event again changes nothing; a forged one is 400
    again = await stripe_client.post(url, content=body, headers={"Stripe-Signature": header})
    assert again.json()["duplicate"] is True
    forged = json.loads(body)
    forged["id"] = "evt_forged"
    res = await stripe_client.post(
        url, content=json.dumps(forged).encode(), headers={"Stripe-Signature": header}
    )
    assert res.status_code == 400
    async with sessions() as session:
        statuses = (await session.scalars(select(Order.status))).all()
        bought = (await session.scalars(select(Purchase.lead_id))).all()
    assert sorted(statuses) == ["paid", "paid"] and len(bought) == 2
    assert len(fake_stripe.charged()) == 2
    assert (
        await stripe_client.post("/api/v1/payments/webhooks/sandbox", content=b"{}")
    ).status_code == 404
