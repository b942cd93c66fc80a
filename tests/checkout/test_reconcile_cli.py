"""`aiqleads payments reconcile`, as an operator runs it after a checkout process died."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.checkout import flow
from aiqleads.checkout.flow import Checkout
from aiqleads.cli import main
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import Order
from tests.checkout.conftest import HoldingAgent, charges


async def test_the_command_completes_a_paid_order_and_says_the_ledger_balances(
    cli: CliRunner,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    holding_agent: HoldingAgent,
    checkout_flow: Checkout,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a checkout whose process died right after the gateway charged, before finalising,
    # 3 minutes before the command runs on the system's clock: past its 2-minute grace, its
    # holds still running
    clock.set(datetime.now(UTC) - timedelta(minutes=3))
    account, _, _ = await holding_agent(2)
    order = await flow.open_order(
        checkout_flow, account_id=account.id, idempotency_key="k", payment_token="tok_success"
    )

    async def killed(*_: object) -> None:
        raise RuntimeError("process killed")

    # (not `monkeypatch.undo()`, which would also take back the command's AIQ_ variables)
    with monkeypatch.context() as patch, pytest.raises(RuntimeError, match="killed"):
        patch.setattr(flow, "apply", killed)
        await flow.pay(checkout_flow, order)
    # When the operator runs the command (its own event loop: off this test's)
    res = await asyncio.to_thread(cli.invoke, main, ["payments", "reconcile", "--json"])
    # Then it reports the order paid and nothing out of balance, without a second charge
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert (report["checked"], report["paid"], report["imbalances"]) == (1, 1, [])
    assert await charges(sessions) == 1
    async with sessions() as session:
        assert await session.scalar(select(Order.status)) == "paid"
    # And run again, in words, it finds nothing to do
    again = await asyncio.to_thread(cli.invoke, main, ["payments", "reconcile"])
    assert again.exit_code == 0, again.output
    assert "checked 0" in again.output and "the ledger balances" in again.output


async def test_a_ledger_out_of_balance_is_named_and_exits_1(
    cli: CliRunner,
    sessions: async_sessionmaker[AsyncSession],
    holding_agent: HoldingAgent,
    checkout_flow: Checkout,
) -> None:
    # Given a paid order whose amount a hand-made edit changed afterwards
    account, _, _ = await holding_agent(1)
    order = await flow.open_order(
        checkout_flow, account_id=account.id, idempotency_key="k", payment_token="tok_success"
    )
    await flow.pay(checkout_flow, order)
    async with sessions() as session, session.begin():
        await session.execute(text("UPDATE orders SET amount_cents = amount_cents + 1"))
        public_id, amount = (
            await session.execute(select(Order.public_id, Order.amount_cents))
        ).one()
    # When the operator reconciles
    res = await asyncio.to_thread(cli.invoke, main, ["payments", "reconcile"])
    # Then the command names the order and what disagrees, and fails
    assert res.exit_code == 1, res.output
    assert "ledger imbalance" in res.output
    assert f"order {public_id}: paid {amount - 1} cents, its amount is {amount}" in " ".join(
        res.output.split()
    )
