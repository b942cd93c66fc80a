"""Reconciliation and the lines another buyer had first: a process killed between a successful
payment and its finalisation is completed, nothing is charged twice, the ledger balances."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.checkout import flow
from aiqleads.checkout.flow import Checkout
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import Order, OrderItem, Purchase
from aiqleads.models.enums import Tier
from aiqleads.payments.reconcile import check_ledger, reconcile
from tests.checkout.conftest import HoldingAgent, charges
from tests.factories import agent


async def test_a_payment_whose_finalisation_died_is_completed_by_reconcile(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    holding_agent: HoldingAgent,
    checkout_flow: Checkout,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a checkout whose process died right after the gateway charged, before finalising
    account, _, _ = await holding_agent(2)
    order = await flow.open_order(
        checkout_flow, account_id=account.id, idempotency_key="k", payment_token="tok_success"
    )

    async def killed(*_: object) -> None:
        raise RuntimeError("process killed")

    monkeypatch.setattr(flow, "apply", killed)
    with pytest.raises(RuntimeError, match="killed"):
        await flow.pay(checkout_flow, order)
    monkeypatch.undo()
    assert await charges(sessions) == 1
    # When reconciliation runs after the grace period
    clock.advance(timedelta(minutes=3))
    report = await reconcile(checkout_flow)
    # Then the order is paid and its leads sold, with no second charge, and the ledger balances
    assert (report.checked, report.paid, report.imbalances) == (1, 1, [])
    assert await charges(sessions) == 1
    async with sessions() as session:
        status = await session.scalar(select(Order.status))
        bought = (await session.scalars(select(Purchase.account_id))).all()
    assert status == "paid" and bought == [account.id, account.id]
    # And a second run finds nothing to do
    again = await reconcile(checkout_flow)
    assert (again.checked, again.paid, again.refunds) == (0, 0, 0)


async def test_a_line_another_buyer_took_meanwhile_is_refunded_once(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    holding_agent: HoldingAgent,
    checkout_flow: Checkout,
) -> None:
    # Given a basic agent's order opened for two $20 leads, whose holds lapse before it pays
    account, _, rows = await holding_agent(2)
    order = await flow.open_order(
        checkout_flow, account_id=account.id, idempotency_key="slow", payment_token=None
    )
    clock.advance(timedelta(minutes=16))
    # and another agent who holds one of them now
    _, other = await agent(client, sessions, clock, Tier.ENTERPRISE)
    res = await client.post(
        "/api/v1/cart/holds", json={"lead_ids": [str(rows[0]["public_id"])]}, headers=other
    )
    assert res.json()["held"] == 1
    # When the payment goes through
    await flow.pay(checkout_flow, order)
    # Then the free lead is sold, the taken one is lost and its $20 refunded, once
    async with sessions() as session:
        outcomes = {
            lead: outcome
            for lead, outcome in await session.execute(select(OrderItem.lead_id, OrderItem.outcome))
        }
    assert sorted(outcomes.values(), key=str) == ["lost", "sold"]  # an unset (None) one fails here
    assert await check_ledger(checkout_flow) == []
    report = await reconcile(checkout_flow, grace=timedelta(0))
    assert report.refunds == 0  # already refunded by the checkout itself
    from aiqleads.models import LedgerEntry

    async with sessions() as session:
        refunds = (
            await session.execute(
                select(LedgerEntry.state, LedgerEntry.amount_cents).where(
                    LedgerEntry.kind == "refund"
                )
            )
        ).all()
    assert [tuple(r) for r in refunds] == [("pending", 2000), ("completed", 2000)]


async def test_an_order_without_a_payment_past_the_idempotency_window_is_abandoned(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    holding_agent: HoldingAgent,
    checkout_flow: Checkout,
) -> None:
    account, _, _ = await holding_agent(1)
    await flow.open_order(
        checkout_flow, account_id=account.id, idempotency_key="old", payment_token=None
    )
    clock.advance(timedelta(days=2))
    report = await reconcile(checkout_flow)
    assert (report.abandoned, report.imbalances) == (1, [])
    assert await charges(sessions) == 0
    async with sessions() as session:
        order = (await session.execute(select(Order.status, Order.decline_code))).one()
    assert tuple(order) == ("failed", "abandoned")
