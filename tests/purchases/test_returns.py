"""POST /api/v1/returns and GET /api/v1/returns: a buyer asks to return a lead it bought,
within the return window (7 days by default), once at a time, and sees its returns."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from tests.conftest import Backend
from tests.factories import admin, agent, login
from tests.purchases.conftest import PURCHASES, RETURNS, MakeBuyer, returns_count


def _body(lead_id: str, reason: str = "wrong_number", note: str | None = None) -> dict[str, str]:
    body = {"lead_id": lead_id, "reason": reason}
    if note is not None:
        body["note"] = note
    return body


async def test_a_buyer_returns_a_lead_inside_the_window(
    client: httpx.AsyncClient, clock: FrozenClock, buyer: MakeBuyer
) -> None:
    # Given a lead bought for $20, and the clock one second before its 7 days are over
    b = await buyer(1)
    bought_at = clock.now()
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    headers = await login(client, b.account.email)
    before = returns_count("requested")
    # When the buyer asks to return it
    res = await client.post(
        RETURNS, json=_body(b.lead_ids()[0], note="nobody answers"), headers=headers
    )
    # Then the return is requested, for the price paid
    assert res.status_code == 201, res.text
    ret = res.json()
    assert ret["status"] == "requested" and ret["reason"] == "wrong_number"
    assert ret["note"] == "nobody answers"
    assert ret["lead_id"] == b.lead_ids()[0] and ret["buyer_id"] == str(b.account.public_id)
    assert ret["refund"] == {"cents": 2000, "currency": "USD"}
    assert ret["purchased_at"].startswith(bought_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert ret["decided_at"] is None and ret["refunded_at"] is None
    assert returns_count("requested") == before + 1
    # And the buyer sees it in its returns and on the purchase
    mine = (await client.get(RETURNS, headers=headers)).json()
    assert [r["id"] for r in mine["items"]] == [ret["id"]] and mine["next_cursor"] is None
    [purchase] = (await client.get(PURCHASES, headers=headers)).json()["items"]
    assert purchase["return_request"] == {"id": ret["id"], "status": "requested"}


async def test_the_last_moment_of_the_window_counts_and_the_next_does_not(
    client: httpx.AsyncClient, clock: FrozenClock, buyer: MakeBuyer
) -> None:
    # Given two leads bought together
    b = await buyer(2)
    bought_at = clock.now()
    # When exactly 7 days have passed, one may still be returned
    clock.advance(timedelta(days=7))
    headers = await login(client, b.account.email)
    on_time = await client.post(RETURNS, json=_body(b.lead_ids()[0]), headers=headers)
    assert on_time.status_code == 201, on_time.text
    # But a second later, the other is refused with a clear reason and the deadline
    clock.advance(timedelta(seconds=1))
    late = await client.post(RETURNS, json=_body(b.lead_ids()[1]), headers=headers)
    assert late.status_code == 409
    body = late.json()
    assert body["code"] == "conflict" and "within 7 days" in body["error"]
    assert body["detail"]["reason"] == "return_window_over"
    deadline = (bought_at + timedelta(days=7)).isoformat()
    assert body["detail"]["returnable_until"] == deadline


async def test_one_open_return_per_purchase(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
) -> None:
    # Given a requested return
    b = await buyer(1)
    lead = b.lead_ids()[0]
    first = (await client.post(RETURNS, json=_body(lead), headers=b.headers)).json()
    # When the buyer asks again, for any reason
    again = await client.post(RETURNS, json=_body(lead, "duplicate"), headers=b.headers)
    # Then it is refused, naming the open return
    assert again.status_code == 409
    assert again.json()["detail"] == {
        "reason": "return_open",
        "return_id": first["id"],
        "status": "requested",
    }
    # When an admin rejects it, the buyer may ask once more (within the window)
    ops = await admin(client, sessions, clock)
    rejected = await client.post(
        f"/api/v1/admin/returns/{first['id']}/reject",
        json={"reason": "the number works"},
        headers=ops,
    )
    assert rejected.status_code == 200
    second = await client.post(RETURNS, json=_body(lead, "other", "it does not"), headers=b.headers)
    assert second.status_code == 201, second.text
    mine = (await client.get(RETURNS, headers=b.headers)).json()["items"]
    assert [(r["id"], r["status"]) for r in mine] == [
        (second.json()["id"], "requested"),
        (first["id"], "rejected"),
    ]


async def test_racing_requests_file_one_return(client: httpx.AsyncClient, buyer: MakeBuyer) -> None:
    b = await buyer(1)
    answers = await asyncio.gather(
        *(client.post(RETURNS, json=_body(b.lead_ids()[0]), headers=b.headers) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    assert len((await client.get(RETURNS, headers=b.headers)).json()["items"]) == 1


async def test_only_the_buyer_may_return_a_lead(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
) -> None:
    # Given a buyer's lead, and another agent, and an admin
    b = await buyer(1)
    _, other = await agent(client, sessions, clock)
    ops = await admin(client, sessions, clock)
    # Then anyone else asking to return it finds no purchase (404, not 403)
    for headers in (other, ops):
        res = await client.post(RETURNS, json=_body(b.lead_ids()[0]), headers=headers)
        assert res.status_code == 404 and res.json()["code"] == "not_found"
    # And an unknown lead is not found either
    unknown = _body("00000000-0000-4000-8000-000000000000")
    assert (await client.post(RETURNS, json=unknown, headers=b.headers)).status_code == 404
    # And the other agent sees no returns of its own
    assert (await client.get(RETURNS, headers=other)).json()["items"] == []
    assert (await client.post(RETURNS, json=_body(b.lead_ids()[0]))).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lead_id": "L", "reason": "changed_my_mind"}, "reason"),
        ({"lead_id": "L", "reason": "other", "note": "x" * 1001}, "note"),
        ({"reason": "other"}, "lead_id"),
        ({"lead_id": "not-a-uuid", "reason": "other"}, "lead_id"),
        ({"lead_id": "L", "reason": "other", "refund": 1_000_000}, "refund"),
    ],
)
async def test_bad_requests_name_the_field(
    client: httpx.AsyncClient, buyer: MakeBuyer, body: dict[str, object], field: str
) -> None:
    b = await buyer(1)
    sent = {k: (b.lead_ids()[0] if v == "L" else v) for k, v in body.items()}
    res = await client.post(RETURNS, json=sent, headers=b.headers)
    assert res.status_code == 422, res.text
    assert [d["field"] for d in res.json()["detail"]] == [field]


async def test_a_note_of_the_longest_length_is_kept(
    client: httpx.AsyncClient, buyer: MakeBuyer
) -> None:
    b = await buyer(1)
    res = await client.post(
        RETURNS, json=_body(b.lead_ids()[0], "listed_with_agent", "é" * 1000), headers=b.headers
    )
    assert res.status_code == 201 and res.json()["note"] == "é" * 1000


async def test_my_returns_page_with_a_cursor_of_their_own(
    client: httpx.AsyncClient, clock: FrozenClock, buyer: MakeBuyer
) -> None:
    # Given three returns asked a minute apart
    b = await buyer(3)
    asked = []
    for lead in b.lead_ids():
        clock.advance(timedelta(minutes=1))
        res = await client.post(RETURNS, json=_body(lead), headers=b.headers)
        asked.append(res.json()["id"])
    # When listed two at a time, newest first
    page1 = (await client.get(RETURNS, params={"limit": 2}, headers=b.headers)).json()
    page2 = (
        await client.get(
            RETURNS, params={"limit": 2, "cursor": page1["next_cursor"]}, headers=b.headers
        )
    ).json()
    assert [r["id"] for r in page1["items"] + page2["items"]] == asked[::-1]
    assert page2["next_cursor"] is None
    # And a returns cursor means nothing to the purchases list
    wrong = await client.get(PURCHASES, params={"cursor": page1["next_cursor"]}, headers=b.headers)
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["field"] == "cursor"


class TestAWindowSetting:
    """AIQ_RETURN_WINDOW_DAYS sets the window."""

    @pytest.fixture
    def settings(self, backend: Backend) -> Settings:
        return backend.settings(return_window_days=1)

    async def test_a_one_day_window_closes_after_one_day(
        self, client: httpx.AsyncClient, clock: FrozenClock, buyer: MakeBuyer
    ) -> None:
        b = await buyer(1)
        [purchase] = (await client.get(PURCHASES, headers=b.headers)).json()["items"]
        deadline = clock.now() + timedelta(days=1)
        assert purchase["returnable_until"].startswith(deadline.strftime("%Y-%m-%dT%H:%M:%S"))
        clock.advance(timedelta(days=1, seconds=1))
        headers = await login(client, b.account.email)
        late = await client.post(RETURNS, json=_body(b.lead_ids()[0]), headers=headers)
        assert late.status_code == 409 and "within 1 day of" in late.json()["error"]
