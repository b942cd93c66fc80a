"""GET /api/v1/purchases: the caller's purchases, newest first, full records, opaque cursors;
nobody else's."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.kit.clock import FrozenClock
from tests.factories import admin, agent
from tests.purchases.conftest import PURCHASES, BuyMore, MakeBuyer


async def test_a_buyer_pages_through_its_purchases_newest_first(
    client: httpx.AsyncClient, clock: FrozenClock, buyer: MakeBuyer, buy_more: BuyMore
) -> None:
    # Given a buyer that bought one lead, then two more an hour later, then one more
    b = await buyer(1)
    first_at = clock.now()
    clock.advance(timedelta(hours=1))
    await buy_more(b, 2)
    clock.advance(timedelta(hours=1))
    last = await buy_more(b, 1)
    # When it lists its purchases two at a time
    page1 = await client.get(PURCHASES, params={"limit": 2}, headers=b.headers)
    assert page1.status_code == 200, page1.text
    body1 = page1.json()
    page2 = await client.get(
        PURCHASES, params={"limit": 2, "cursor": body1["next_cursor"]}, headers=b.headers
    )
    body2 = page2.json()
    # Then it gets all four, each once, newest first, and the last page has no cursor
    items = body1["items"] + body2["items"]
    assert body2["next_cursor"] is None
    assert sorted(i["lead"]["id"] for i in items) == sorted(b.lead_ids())
    times = [i["purchased_at"] for i in items]
    assert times == sorted(times, reverse=True)
    assert items[0]["lead"]["id"] == str(last[0]["public_id"])
    # And each is the full record with the price paid, the order and the return deadline
    oldest = items[-1]
    assert oldest["lead"]["access"] == "full"
    assert oldest["lead"]["owner"]["phone"].startswith("+1206555")
    assert oldest["lead"]["street_address"] == b.rows[0]["street_address"]
    assert oldest["lead"]["source_url"] == b.rows[0]["source_url"]
    assert oldest["price_paid"] == {"cents": 2000, "currency": "USD"}
    assert oldest["lead"]["price"] == oldest["price_paid"]
    assert oldest["lead"]["status"] == "sold"
    assert oldest["order_id"] == b.orders[0]["id"]
    assert oldest["buyer_id"] == str(b.account.public_id)
    assert oldest["return_request"] is None
    assert oldest["purchased_at"].startswith(first_at.strftime("%Y-%m-%dT%H:%M:%S"))
    deadline = first_at + timedelta(days=7)
    assert oldest["returnable_until"].startswith(deadline.strftime("%Y-%m-%dT%H:%M:%S"))


async def test_an_agent_sees_only_its_own_purchases(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
) -> None:
    # Given two buyers and an agent that bought nothing
    alice, bob = await buyer(2), await buyer(1)
    _, nobody = await agent(client, sessions, clock)
    # Then each sees its own purchases only
    mine = (await client.get(PURCHASES, headers=alice.headers)).json()["items"]
    assert sorted(i["lead"]["id"] for i in mine) == sorted(alice.lead_ids())
    theirs = (await client.get(PURCHASES, headers=bob.headers)).json()["items"]
    assert [i["lead"]["id"] for i in theirs] == bob.lead_ids()
    assert (await client.get(PURCHASES, headers=nobody)).json() == {
        "items": [],
        "next_cursor": None,
    }
    # And an agent naming another account is refused; naming its own is fine
    other = await client.get(
        PURCHASES, params={"account": str(bob.account.public_id)}, headers=alice.headers
    )
    assert other.status_code == 403 and other.json()["code"] == "forbidden"
    own = await client.get(
        PURCHASES, params={"account": str(alice.account.public_id)}, headers=alice.headers
    )
    assert len(own.json()["items"]) == 2
    # And without a session there is nothing
    assert (await client.get(PURCHASES)).status_code == 401


async def test_an_admin_may_list_any_accounts_purchases(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
) -> None:
    b = await buyer(1)
    ops = await admin(client, sessions, clock)
    res = await client.get(PURCHASES, params={"account": str(b.account.public_id)}, headers=ops)
    assert [i["lead"]["id"] for i in res.json()["items"]] == b.lead_ids()
    # Its own list (it bought nothing) is empty; an unknown account is not found
    assert (await client.get(PURCHASES, headers=ops)).json()["items"] == []
    unknown = await client.get(
        PURCHASES, params={"account": "00000000-0000-4000-8000-000000000000"}, headers=ops
    )
    assert unknown.status_code == 404


async def test_a_cursor_not_issued_by_this_list_is_refused(
    client: httpx.AsyncClient, buyer: MakeBuyer
) -> None:
    b = await buyer(1)
    for bad in ["not-a-cursor", "A" * 40]:
        res = await client.get(PURCHASES, params={"cursor": bad}, headers=b.headers)
        assert res.status_code == 422
        assert res.json()["detail"][0]["field"] == "cursor"
    for bad_limit in [0, 201]:
        res = await client.get(PURCHASES, params={"limit": bad_limit}, headers=b.headers)
        assert res.status_code == 422 and res.json()["detail"][0]["field"] == "limit"
