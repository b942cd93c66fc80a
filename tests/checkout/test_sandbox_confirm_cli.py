"""`aiqleads payments sandbox-confirm`: the demo buyer's side of a payment that asks them to
act (3-D Secure), which the sandbox has no browser for."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.cli import main
from aiqleads.models import Purchase
from tests.checkout.conftest import HoldingAgent


async def _waiting_order(client: httpx.AsyncClient, holding_agent: HoldingAgent) -> str:
    _, headers, _ = await holding_agent(1)
    res = await client.post(
        "/api/v1/checkout", json={"payment_token": "tok_requires_action"}, headers=headers
    )
    assert res.status_code == 202, res.text
    return str(res.json()["id"])


async def test_confirming_pays_the_order_and_failing_fails_it(
    cli: CliRunner,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    holding_agent: HoldingAgent,
) -> None:
    # Given two orders waiting for their buyers' 3-D Secure
    first = await _waiting_order(client, holding_agent)
    second = await _waiting_order(client, holding_agent)
    # When one buyer passes the challenge and the other fails it
    ok = await asyncio.to_thread(cli.invoke, main, ["payments", "sandbox-confirm", first])
    ko = await asyncio.to_thread(
        cli.invoke, main, ["payments", "sandbox-confirm", second, "--fail"]
    )
    # Then the first order is paid and its lead bought; the second failed
    assert ok.exit_code == 0 and f"order {first}: paid" in ok.output, ok.output
    assert ko.exit_code == 0 and f"order {second}: failed" in ko.output, ko.output
    async with sessions() as session:
        assert len((await session.scalars(select(Purchase.id))).all()) == 1
    # And neither is waiting any more; an unknown order is said to be unknown
    again = await asyncio.to_thread(cli.invoke, main, ["payments", "sandbox-confirm", first])
    assert again.exit_code == 1 and "is paid: not waiting for its buyer" in again.output
    missing = str(uuid.uuid4())
    unknown = await asyncio.to_thread(cli.invoke, main, ["payments", "sandbox-confirm", missing])
    assert unknown.exit_code == 1 and f"no order {missing}" in unknown.output
    bad = await asyncio.to_thread(cli.invoke, main, ["payments", "sandbox-confirm", "nope"])
    assert bad.exit_code == 2 and "not a valid UUID" in bad.output
