"""Checkout through the API with the sandbox gateway: paid, declined, requiring action, the
gateway unreachable, replays by Idempotency-Key, and what the buyer then sees."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.kit.clock import FrozenClock
from aiqleads.models import Hold, Lead, LedgerEntry, Order, Purchase
from aiqleads.models.enums import Tier
from tests.checkout.conftest import HoldingAgent, charges
from tests.factories import agent, login

CHECKOUT = "/api/v1/checkout"


async def _ledger(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, int]]:
    async with sessions() as session:
        rows = await session.execute(
            select(LedgerEntry.kind, LedgerEntry.state, LedgerEntry.amount_cents).order_by(
                LedgerEntry.id
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def _checkout(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    token: str | None = None,
    key: str | None = None,
) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key else {}
    body = {"payment_token": token} if token else None
    return await client.post(CHECKOUT, json=body, headers={**headers, **extra})


async def test_a_paid_checkout_sells_the_held_leads_and_unlocks_them(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    holding_agent: HoldingAgent,
) -> None:
    # Given a pro agent holding two $20 leads (15 % off: $17 each)
    account, headers, rows = await holding_agent(2, tier=Tier.PRO)
    # When it checks out
    res = await _checkout(client, headers, key="attempt-1")
    # Then the order is paid, both leads sold to it at the held price
    assert res.status_code == 200, res.text
    order = res.json()
    assert order["status"] == "paid" and order["total"] == {"cents": 3400, "currency": "USD"}
    assert {i["outcome"] for i in order["items"]} == {"sold"}
    assert res.headers["Idempotency-Key"] == "attempt-1"
    # And the buyer sees the full records with the owner's contact; the cart is empty
    for row in rows:
        full = (await client.get(f"/api/v1/leads/{row['public_id']}", headers=headers)).json()
        assert full["access"] == "full" and full["owner"]["phone"] is not None
        assert full["price"] == {"cents": 1700, "currency": "USD"}
        factors = full["price_factors"]
        assert (factors["list_cents"], factors["tier_discount_percent"]) == (2000, None)
    assert (await client.get("/api/v1/cart", headers=headers)).json()["items"] == []
    # And another agent finds them nowhere
    _, other = await agent(client, sessions, clock, Tier.ENTERPRISE)
    for row in rows:
        assert (
            await client.get(f"/api/v1/leads/{row['public_id']}", headers=other)
        ).status_code == 404
    # And the ledger holds the order and the payment, each pending then completed
    assert await _ledger(sessions) == [
        ("order", "pending", 3400),
        ("payment", "pending", 3400),
        ("payment", "completed", 3400),
        ("order", "completed", 3400),
    ]
    async with sessions() as session:
        bought = (await session.execute(select(Purchase.account_id, Purchase.price_cents))).all()
        ended = set((await session.scalars(select(Hold.end_reason))).all())
    assert sorted(bought) == [(account.id, 1700), (account.id, 1700)]
    assert ended == {"purchased"}
    # When the same checkout is sent again with its key: the same order, charged once
    again = await _checkout(client, headers, key="attempt-1")
    assert again.status_code == 200 and again.json()["id"] == order["id"]
    assert await charges(sessions) == 1
    listed = (await client.get("/api/v1/orders", headers=headers)).json()
    assert [o["id"] for o in listed] == [order["id"]]
    assert (await client.get(f"/api/v1/orders/{order['id']}", headers=other)).status_code == 404


async def test_a_declined_payment_leaves_the_holds_until_they_lapse(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    holding_agent: HoldingAgent,
) -> None:
    _, headers, _ = await holding_agent(2)
    declined = await _checkout(client, headers, "tok_decline", key="a")
    assert declined.status_code == 402
    body = declined.json()
    assert body["code"] == "payment_declined" and body["detail"]["decline_code"] == "card_declined"
    # The holds are still there, and the leads still held
    assert len((await client.get("/api/v1/cart", headers=headers)).json()["items"]) == 2
    async with sessions() as session:
        assert set((await session.scalars(select(Lead.status))).all()) == {"held"}
    # A new attempt (new key) with a good card pays
    paid = await _checkout(client, headers, "tok_success", key="b")
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    states = [(k, s) for k, s, _ in await _ledger(sessions)]
    assert states == [
        ("order", "pending"),
        ("payment", "pending"),
        ("payment", "failed"),
        ("order", "failed"),
        ("order", "pending"),
        ("payment", "pending"),
        ("payment", "completed"),
        ("order", "completed"),
    ]


async def test_an_unreachable_gateway_is_503_and_a_retry_with_the_same_key_charges_once(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    holding_agent: HoldingAgent,
) -> None:
    _, headers, _ = await holding_agent(1)
    # The network fails before the gateway charged: nothing charged, the order waits
    res = await _checkout(client, headers, "tok_network_error", key="k1")
    assert res.status_code == 503 and res.headers["Retry-After"] == "5"
    assert res.json()["code"] == "payment_unavailable"
    assert await charges(sessions) == 0
    # The gateway charged, but its answer was lost: 503, then the retry finds the charge
    lost = await _checkout(client, headers, "tok_success_lost_reply", key="k2")
    assert lost.status_code == 503
    assert await charges(sessions) == 1
    retry = await _checkout(client, headers, key="k2")
    assert retry.status_code == 200 and retry.json()["status"] == "paid"
    assert await charges(sessions) == 1


async def _answer_lost(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    headers: dict[str, str],
) -> httpx.Response:
    """A key-less checkout the gateway charged, whose answer was lost: the 503, which gives
    the key it made (for a client that would rather send it)."""
    lost = await _checkout(client, headers, "tok_success_lost_reply")
    assert lost.status_code == 503
    assert await charges(sessions) == 1
    assert lost.headers["Idempotency-Key"].startswith("cart-")
    return lost


async def test_a_retry_without_a_key_is_the_same_order_charged_once(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    holding_agent: HoldingAgent,
) -> None:
    # Given a client that sends no Idempotency-Key, and a gateway whose answer is lost
    _, headers, _ = await holding_agent(2)
    lost = await _answer_lost(client, sessions, headers)
    # When it retries the same cart, still without a key (the token now says nothing new)
    retry = await _checkout(client, headers, "tok_success_lost_reply")
    # Then it is the order it opened, found paid: one order, one charge
    assert retry.status_code == 200, retry.text
    assert retry.json()["status"] == "paid"
    assert retry.headers["Idempotency-Key"] == lost.headers["Idempotency-Key"]
    assert await charges(sessions) == 1
    orders = (await client.get("/api/v1/orders", headers=headers)).json()
    assert [o["id"] for o in orders] == [retry.json()["id"]]


async def test_without_a_key_an_order_still_waiting_is_found_after_the_cart_changed(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    holding_agent: HoldingAgent,
) -> None:
    # Given a key-less checkout whose answer was lost after the gateway charged
    _, headers, rows = await holding_agent(2)
    lost = await _answer_lost(client, sessions, headers)
    order_id = lost.json()["detail"]["order_id"]
    # And the cart changed meanwhile (a hold let go: the cart's key is another now)
    await client.delete(f"/api/v1/cart/holds/{rows[0]['public_id']}", headers=headers)
    # When the client retries with another token, it is told of the waiting order
    other = await _checkout(client, headers, "tok_success")
    assert other.status_code == 409, other.text
    assert other.json()["detail"]["order_id"] == order_id
    assert other.headers["Idempotency-Key"] == lost.headers["Idempotency-Key"]
    # And retried with the same token, it is that order, paid: charged once
    retry = await _checkout(client, headers, "tok_success_lost_reply")
    assert retry.status_code == 200, retry.text
    assert str(retry.json()["id"]) == order_id
    assert await charges(sessions) == 1


async def test_without_a_key_an_order_of_lapsed_holds_does_not_block_a_new_one(
    client: httpx.AsyncClient,
    clock: FrozenClock,
    holding_agent: HoldingAgent,
) -> None:
    # Given a key-less checkout the buyer never confirmed (3-D Secure), and its 409 for
    # another card while its holds live
    account, headers, rows = await holding_agent(1)
    waiting = await _checkout(client, headers, "tok_requires_action")
    assert waiting.status_code == 202
    blocked = await _checkout(client, headers, "tok_success")
    assert blocked.status_code == 409
    assert "pay anew with a new key" in blocked.json()["error"]
    # When the hold lapses and the buyer holds the lead again
    clock.advance(timedelta(minutes=16))
    headers = await login(client, account.email)  # (its access token lapsed too)
    held = await client.post(
        "/api/v1/cart/holds", json={"lead_ids": [str(rows[0]["public_id"])]}, headers=headers
    )
    assert held.json()["held"] == 1, held.text
    # Then a key-less checkout with another card is a new order, paid
    paid = await _checkout(client, headers, "tok_success")
    assert paid.status_code == 200, paid.text
    assert paid.json()["id"] != waiting.json()["id"]


async def test_a_key_sent_again_with_another_token_is_refused(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    holding_agent: HoldingAgent,
) -> None:
    _, headers, _ = await holding_agent(1)
    refused = await _checkout(client, headers, "tok_bogus", key="k")
    assert refused.status_code == 422 and refused.headers["Idempotency-Key"] == "k"
    other = await _checkout(client, headers, "tok_success", key="k")
    assert other.status_code == 409, other.text
    assert "another payment token" in other.json()["error"]
    assert await charges(sessions) == 0


async def test_without_a_key_another_token_or_another_cart_is_another_attempt(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    holding_agent: HoldingAgent,
) -> None:
    _, headers, rows = await holding_agent(2)
    declined = await _checkout(client, headers, "tok_decline")
    assert declined.status_code == 402
    # The same card again, without a key: the same declined attempt, not a second charge
    again = await _checkout(client, headers, "tok_decline")
    assert again.status_code == 402
    assert again.json()["detail"]["order_id"] == declined.json()["detail"]["order_id"]
    assert await charges(sessions) == 1
    # One lead fewer in the cart: another attempt (declined again, charged again)
    await client.delete(f"/api/v1/cart/holds/{rows[0]['public_id']}", headers=headers)
    smaller = await _checkout(client, headers, "tok_decline")
    assert smaller.status_code == 402
    assert smaller.json()["detail"]["order_id"] != declined.json()["detail"]["order_id"]
    # Another card: another attempt, which pays for what the cart holds now
    paid = await _checkout(client, headers, "tok_success")
    assert paid.status_code == 200, paid.text
    assert paid.json()["total"]["cents"] == 2000
    assert await charges(sessions) == 3


async def test_an_empty_cart_and_a_bad_token_are_refused(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    _, headers = await agent(client, sessions, clock, Tier.BASIC)
    empty = await _checkout(client, headers)
    assert empty.status_code == 409 and empty.json()["code"] == "conflict"
    for body in ({"payment_token": ""}, {"payment_token": "x" * 300}, {"card": "4242"}):
        res = await client.post(CHECKOUT, json=body, headers=headers)
        assert res.status_code == 422, res.text
    assert (await client.post(CHECKOUT)).status_code == 401


async def test_a_token_the_gateway_does_not_know_is_422_naming_it(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    holding_agent: HoldingAgent,
) -> None:
    # Given an agent holding leads
    _, headers, _ = await holding_agent(1)
    # When it pays with a token the gateway refuses
    res = await _checkout(client, headers, "tok_bogus", key="k-bogus")
    # Then the answer names the token and why, as any bad input: the buyer's to correct
    assert res.status_code == 422, res.text
    [detail] = res.json()["detail"]
    assert detail["field"] == "payment_token"
    assert "unknown sandbox payment token 'tok_bogus'" in detail["reason"]
    # And the order failed at once (no payment was made; the holds stay): nothing is left
    # open for reconciliation to ask the gateway about again
    async with sessions() as session:
        order = (await session.execute(select(Order.status, Order.decline_code))).one()
    assert tuple(order) == ("failed", "payment_token_refused")
    assert [(k, s) for k, s, _ in await _ledger(sessions)] == [
        ("order", "pending"),
        ("payment", "pending"),
        ("payment", "failed"),
        ("order", "failed"),
    ]
    assert len((await client.get("/api/v1/cart", headers=headers)).json()["items"]) == 1
    # And the same key sent again gives the same answer
    again = await _checkout(client, headers, "tok_bogus", key="k-bogus")
    assert again.status_code == 422 and again.json()["detail"][0]["field"] == "payment_token"
    # And a good token, under a new key, pays
    assert (await _checkout(client, headers, "tok_success", key="k-good")).status_code == 200


async def test_requires_action_waits_for_the_webhook(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    holding_agent: HoldingAgent,
    sandbox: Any,
) -> None:
    _, headers, _ = await holding_agent(1)
    res = await _checkout(client, headers, "tok_requires_action", key="3ds")
    assert res.status_code == 202 and res.json()["status"] == "requires_action"
    # With what the gateway's client library needs to let the buyer act, again on a retry
    secret = res.json()["client_secret"]
    assert secret and res.json()["next_action"] == "sandbox_confirm"
    retried = await _checkout(client, headers, "tok_requires_action", key="3ds")
    assert retried.status_code == 202 and retried.json()["client_secret"] == secret
    async with sessions() as session:
        assert set((await session.scalars(select(Lead.status))).all()) == {"held"}
    # The buyer completes the challenge; the gateway tells us by webhook
    async with sessions() as session:
        reference = await session.scalar(select(Order.payment_reference))
    assert reference is not None
    await sandbox.resolve_pending(reference, succeed=True)
    hook = await sandbox.payment_webhook(reference)
    url = f"/api/v1/payments/webhooks/{sandbox.name}"
    first = await client.post(url, content=hook.payload, headers=hook.headers)
    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    # The order is paid and the lead sold, once, even when the webhook comes twice
    again = await client.post(url, content=hook.payload, headers=hook.headers)
    assert again.json() == {"received": True, "duplicate": True}
    orders = (await client.get("/api/v1/orders", headers=headers)).json()
    assert [o["status"] for o in orders] == ["paid"]
    async with sessions() as session:
        assert len((await session.scalars(select(Purchase.lead_id))).all()) == 1
    # A forged webhook is refused and changes nothing
    forged = await client.post(
        url, content=hook.payload.replace(b"succeeded", b"failed"), headers=hook.headers
    )
    assert forged.status_code == 400
    assert (await client.post("/api/v1/payments/webhooks/stripe", content=b"{}")).status_code == 404


@pytest.mark.parametrize("first", ["succeeded", "failed"])
async def test_webhooks_out_of_order_change_the_order_once(
    first: str,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    holding_agent: HoldingAgent,
    sandbox: Any,
) -> None:
    # Given a payment still processing when the checkout answered
    _, headers, _ = await holding_agent(1)
    assert (await _checkout(client, headers, "tok_processing", key="p")).status_code == 202
    async with sessions() as session:
        reference = await session.scalar(select(Order.payment_reference))
    assert reference is not None
    await sandbox.resolve_pending(reference, succeed=True)
    success = await sandbox.payment_webhook(reference)
    # and a "payment failed" event for the same payment (the buyer's first try at the challenge)
    event = json.loads(success.payload)
    failure = sandbox.sign_event(
        {**event, "id": f"{event['id']}-failed", "type": "payment_intent.payment_failed"}
    )
    deliveries = [success, failure] if first == "succeeded" else [failure, success]
    url = f"/api/v1/payments/webhooks/{sandbox.name}"
    # When both arrive, in either order, each twice
    for hook in deliveries + deliveries:
        res = await client.post(url, content=hook.payload, headers=hook.headers)
        assert res.status_code == 200, res.text
    # Then the first decides: paid and sold once; or failed, and the late payment refunded
    orders = (await client.get("/api/v1/orders", headers=headers)).json()
    async with sessions() as session:
        sold = (await session.scalars(select(Purchase.lead_id))).all()
    states = await _ledger(sessions)
    if first == "succeeded":
        assert [o["status"] for o in orders] == ["paid"] and len(sold) == 1
        assert ("refund", "completed", 2000) not in states
    else:
        assert [o["status"] for o in orders] == ["failed"] and sold == []
        assert ("refund", "completed", 2000) in states
        assert ("payment", "refunded", 2000) in states
    assert await charges(sessions) == 1
