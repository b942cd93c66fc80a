"""After a checkout commits, an enterprise API client's webhook gets `purchase.confirmed`
(signed, from the worker's outbox) and the buyer's channel gets a `purchase_confirmed` notice."""

from __future__ import annotations

import asyncio
import json

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models.enums import Tier
from aiqleads.notices.channels import account_channel
from aiqleads.webhooks.signing import HEADER, verify
from aiqleads.worker.context import TaskContext
from aiqleads.worker.dispatcher import Dispatcher
from tests.factories import agent, insert_leads, lead_row
from tests.webhooks.receiver import receiver


async def test_a_paid_checkout_sends_its_webhook_and_notice_once_committed(
    app: FastAPI,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    task_ctx: TaskContext,
) -> None:
    # Given an enterprise account with a webhook, listening on its notice channel, holding a lead
    row = lead_row(settings, cipher, now=clock.now())
    await insert_leads(sessions, [row])
    account, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    notices = task_ctx.notices
    with receiver(200) as crm:
        created = await client.post(
            "/api/v1/webhooks",
            json={"url": crm.url, "event_types": ["purchase.confirmed"]},
            headers=headers,
        )
        hook = created.json()
        await client.post(
            "/api/v1/cart/holds", json={"lead_ids": [str(row["public_id"])]}, headers=headers
        )
        async with notices.subscribe([account_channel(account.id)]) as feed:
            # When it checks out and the worker runs what the checkout left in its outbox
            paid = await client.post("/api/v1/checkout", headers=headers)
            assert paid.status_code == 200, paid.text
            await Dispatcher(task_ctx, mode="run", schedule=False).drain()
            channel, notice = await asyncio.wait_for(anext(aiter(feed)), timeout=5)
        [got] = crm.requests
    # Then the webhook carries the order and its lead, signed with the webhook's secret
    verify(got.body, got.headers[HEADER], hook["secret"], now=clock.now())
    event = json.loads(got.body)
    assert event["type"] == "purchase.confirmed"
    assert event["data"]["order_id"] == paid.json()["id"]
    assert [x["lead_id"] for x in event["data"]["leads"]] == [str(row["public_id"])]
    # And the buyer's channel was told
    assert channel == account_channel(account.id)
    assert notice["type"] == "purchase_confirmed" and notice["lead_ids"] == [str(row["public_id"])]
