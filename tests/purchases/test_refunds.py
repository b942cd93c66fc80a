"""Admins decide returns: approving refunds the price paid through the gateway once (however
often it is sent, even at once), returns the lead, records the ledger; a gateway failure
leaves the return approved for a retry; rejecting says why. Agents may do none of it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.checkout.flow import Checkout
from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import (
    Lead,
    LeadEvent,
    LeadStatusHistory,
    LedgerEntry,
    SandboxPayment,
    SandboxRefund,
)
from aiqleads.payments.gateways import GatewayUnavailable
from aiqleads.payments.gateways.sandbox import SandboxGateway
from aiqleads.payments.reconcile import check_ledger
from aiqleads.purchases.refunds import finish_approved
from tests.factories import (
    admin,
    agent,
    catalog_pages,
    insert_leads,
    lead_row,
    record_purchase,
)
from tests.purchases.conftest import EXPORT, PURCHASES, RETURNS, MakeBuyer, returns_count

ADMIN_RETURNS = "/api/v1/admin/returns"


async def _ask(client: httpx.AsyncClient, headers: dict[str, str], lead_id: str) -> str:
    res = await client.post(
        RETURNS, json={"lead_id": lead_id, "reason": "wrong_number"}, headers=headers
    )
    assert res.status_code == 201, res.text
    return str(res.json()["id"])


def _approve(return_id: str) -> str:
    return f"{ADMIN_RETURNS}/{return_id}/approve"


def _reject(return_id: str) -> str:
    return f"{ADMIN_RETURNS}/{return_id}/reject"


async def _refunds(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int, str | None]]:
    """(amount, reason) of every refund the sandbox gateway made."""
    async with sessions() as session:
        rows = await session.execute(select(SandboxRefund.amount_cents, SandboxRefund.reason))
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def _ledger(sessions: async_sessionmaker[AsyncSession], kind: str) -> list[tuple[str, int]]:
    async with sessions() as session:
        rows = await session.execute(
            select(LedgerEntry.state, LedgerEntry.amount_cents)
            .where(LedgerEntry.kind == kind)
            .order_by(LedgerEntry.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def _lead_status(sessions: async_sessionmaker[AsyncSession], public_id: Any) -> str:
    async with sessions() as session:
        status = await session.scalar(select(Lead.status).where(Lead.public_id == public_id))
        assert status is not None
        return status


async def test_an_approved_return_is_refunded_and_the_lead_returned(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
    checkout_flow: Checkout,
) -> None:
    # Given a lead bought alone for $20 and a requested return of it
    b = await buyer(1)
    lead = b.lead_ids()[0]
    return_id = await _ask(client, b.headers, lead)
    ops = await admin(client, sessions, clock)
    approved, refunded = returns_count("approved"), returns_count("refunded")
    # When an admin approves it
    res = await client.post(_approve(return_id), headers=ops)
    # Then it is refunded, with the gateway's reference
    assert res.status_code == 200, res.text
    ret = res.json()
    assert ret["status"] == "refunded" and ret["refund_reference"].startswith("sbx_re_")
    assert ret["decided_at"] is not None and ret["refunded_at"] is not None
    assert (returns_count("approved"), returns_count("refunded")) == (approved + 1, refunded + 1)
    # And the sandbox gateway refunded the $20, once, for the buyer's reason
    assert await _refunds(sessions) == [(2000, "wrong_number")]
    async with sessions() as session:
        assert await session.scalar(select(SandboxPayment.refunded_cents)) == 2000
    # And the ledger holds the refund, completed, and the payment, refunded in full
    assert await _ledger(sessions, "refund") == [("pending", 2000), ("completed", 2000)]
    assert [s for s, _ in await _ledger(sessions, "payment")] == [
        "pending",
        "completed",
        "refunded",
    ]
    assert await check_ledger(checkout_flow) == []
    # And the lead is returned (through the write path: its history says so), with an event
    assert await _lead_status(sessions, b.rows[0]["public_id"]) == "returned"
    async with sessions() as session:
        cause = await session.scalar(
            select(LeadStatusHistory.cause).order_by(LeadStatusHistory.id.desc()).limit(1)
        )
        events = (
            await session.execute(
                select(LeadEvent.kind, LeadEvent.account_id, LeadEvent.data).where(
                    LeadEvent.kind == "return"
                )
            )
        ).all()
    assert cause == "return"
    assert [(k, a) for k, a, _ in events] == [("return", b.account.id)]
    assert events[0][2]["refund_cents"] == 2000 and events[0][2]["return"] == return_id
    # And the buyer sees the return refunded and the lead returned; the export leaves it out
    [purchase] = (await client.get(PURCHASES, headers=b.headers)).json()["items"]
    assert purchase["return_request"] == {"id": return_id, "status": "refunded"}
    assert purchase["lead"]["status"] == "returned"
    assert (await client.get(EXPORT, headers=b.headers)).content.count(b"\r\n") == 1
    # And it is not sold again: other agents neither find it nor can hold it
    _, other = await agent(client, sessions, clock)
    assert (await client.get(f"/api/v1/leads/{lead}", headers=other)).status_code == 404
    listed = await catalog_pages(client, other, {})
    assert lead not in {i["id"] for i in listed}
    hold = await client.post("/api/v1/cart/holds", json={"lead_ids": [lead]}, headers=other)
    assert hold.json()["held"] == 0
    # And the buyer cannot return it again
    again = await client.post(RETURNS, json={"lead_id": lead, "reason": "other"}, headers=b.headers)
    assert again.status_code == 409 and again.json()["detail"]["reason"] == "already_returned"


async def test_returning_one_lead_of_an_order_refunds_its_line_only(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
    checkout_flow: Checkout,
) -> None:
    # Given an order of two $20 leads, one of them returned
    b = await buyer(2)
    return_id = await _ask(client, b.headers, b.lead_ids()[1])
    ops = await admin(client, sessions, clock)
    assert (await client.post(_approve(return_id), headers=ops)).json()["status"] == "refunded"
    # Then $20 of the $40 payment is refunded: the payment stays completed
    assert await _refunds(sessions) == [(2000, "wrong_number")]
    assert [s for s, _ in await _ledger(sessions, "payment")] == ["pending", "completed"]
    assert await check_ledger(checkout_flow) == []
    assert await _lead_status(sessions, b.rows[0]["public_id"]) == "sold"
    assert await _lead_status(sessions, b.rows[1]["public_id"]) == "returned"


async def test_approving_twice_or_at_once_refunds_once(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
) -> None:
    # Given two requested returns and two admins
    b = await buyer(2)
    first, second = [await _ask(client, b.headers, lead) for lead in b.lead_ids()]
    ops, ops2 = await admin(client, sessions, clock), await admin(client, sessions, clock)
    # When one is approved, then approved again
    one = await client.post(_approve(first), headers=ops)
    two = await client.post(_approve(first), headers=ops2)
    # Then both answers show it refunded, by one refund
    assert one.status_code == two.status_code == 200
    assert one.json() == two.json()
    # When the other is approved by both admins at once, several times
    answers = await asyncio.gather(
        *(client.post(_approve(second), headers=h) for h in (ops, ops2, ops, ops2))
    )
    # Then one approval refunds it; each other one finds it refunded, or is told that an
    # approval is under way; and it was refunded once
    done = [a for a in answers if a.status_code == 200]
    busy = [a for a in answers if a.status_code == 409]
    assert len(done) + len(busy) == 4 and done, [a.text for a in answers]
    assert {a.json()["status"] for a in done} == {"refunded"}
    assert {a.json()["detail"]["reason"] for a in busy} <= {"approval_in_progress"}
    assert (await client.post(_approve(second), headers=ops)).json()["status"] == "refunded"
    assert await _refunds(sessions) == [(2000, "wrong_number"), (2000, "wrong_number")]
    assert await _ledger(sessions, "refund") == [
        ("pending", 2000),
        ("completed", 2000),
        ("pending", 2000),
        ("completed", 2000),
    ]
    async with sessions() as session:
        events = await session.scalar(
            select(func.count()).select_from(LeadEvent).where(LeadEvent.kind == "return")
        )
    assert events == 2


async def test_a_gateway_that_does_not_answer_leaves_the_return_approved(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
    sandbox: SandboxGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a requested return, and a gateway that cannot be reached
    b = await buyer(1)
    return_id = await _ask(client, b.headers, b.lead_ids()[0])
    ops = await admin(client, sessions, clock)

    async def unreachable(**_: object) -> None:
        raise GatewayUnavailable("connection refused")

    monkeypatch.setattr(sandbox, "refund", unreachable)
    # When the admin approves it
    res = await client.post(_approve(return_id), headers=ops)
    # Then the answer says to try again; the return is approved, nothing refunded or returned
    assert res.status_code == 503 and res.json()["code"] == "payment_unavailable"
    assert res.headers["Retry-After"] == "5"
    assert res.json()["detail"] == {"return_id": return_id, "status": "approved"}
    mine = (await client.get(RETURNS, headers=b.headers)).json()["items"]
    assert mine[0]["status"] == "approved"
    assert await _refunds(sessions) == [] and await _ledger(sessions, "refund") == []
    assert await _lead_status(sessions, b.rows[0]["public_id"]) == "sold"
    # When the gateway is back and the admin approves again, it is refunded once
    monkeypatch.undo()
    again = await client.post(_approve(return_id), headers=ops)
    assert again.status_code == 200 and again.json()["status"] == "refunded"
    assert await _refunds(sessions) == [(2000, "wrong_number")]
    assert await _lead_status(sessions, b.rows[0]["public_id"]) == "returned"


async def test_a_refund_whose_answer_was_lost_is_finished_by_reconciliation(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
    sandbox: SandboxGateway,
    checkout_flow: Checkout,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an approval whose refund the gateway made but whose answer never came back
    b = await buyer(1)
    return_id = await _ask(client, b.headers, b.lead_ids()[0])
    ops = await admin(client, sessions, clock)
    real_refund = sandbox.refund

    async def answer_lost(**kwargs: Any) -> None:
        await real_refund(**kwargs)
        raise GatewayUnavailable("timed out reading the answer")

    monkeypatch.setattr(sandbox, "refund", answer_lost)
    assert (await client.post(_approve(return_id), headers=ops)).status_code == 503
    monkeypatch.undo()
    assert await _refunds(sessions) == [(2000, "wrong_number")]
    assert await _ledger(sessions, "refund") == []
    # When reconciliation retries the approved returns
    finished = await finish_approved(checkout_flow)
    # Then the return is refunded and recorded, with the one refund the gateway made
    assert finished == 1
    assert await _refunds(sessions) == [(2000, "wrong_number")]
    assert await _ledger(sessions, "refund") == [("pending", 2000), ("completed", 2000)]
    assert await _lead_status(sessions, b.rows[0]["public_id"]) == "returned"
    mine = (await client.get(RETURNS, headers=b.headers)).json()["items"]
    assert mine[0]["status"] == "refunded"
    assert await finish_approved(checkout_flow) == 0


async def test_an_approval_that_died_holds_the_return_for_a_while_only(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
    sandbox: SandboxGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an approval whose process died while the gateway was being asked
    b = await buyer(1)
    return_id = await _ask(client, b.headers, b.lead_ids()[0])
    ops = await admin(client, sessions, clock)

    async def killed(**_: object) -> None:
        raise RuntimeError("process killed")

    monkeypatch.setattr(sandbox, "refund", killed)
    with pytest.raises(RuntimeError, match="killed"):
        await client.post(_approve(return_id), headers=ops)
    monkeypatch.undo()
    # When it is approved again at once, the dead approval's claim still holds
    busy = await client.post(_approve(return_id), headers=ops)
    assert busy.status_code == 409 and busy.json()["detail"]["reason"] == "approval_in_progress"
    assert await _refunds(sessions) == []
    # When its claim has lapsed (2 minutes), approving it again refunds it
    clock.advance(timedelta(minutes=3))
    done = await client.post(_approve(return_id), headers=ops)
    assert done.status_code == 200 and done.json()["status"] == "refunded"
    assert await _refunds(sessions) == [(2000, "wrong_number")]


async def test_a_rejected_return_says_why_and_cannot_be_approved(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
) -> None:
    # Given a requested return
    b = await buyer(1)
    return_id = await _ask(client, b.headers, b.lead_ids()[0])
    ops = await admin(client, sessions, clock)
    rejected_before = returns_count("rejected")
    # When an admin rejects it, saying why
    res = await client.post(
        _reject(return_id), json={"reason": "  the number answers  "}, headers=ops
    )
    # Then it is rejected with the reason; the buyer sees it; nothing is refunded
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "rejected"
    assert res.json()["rejection_reason"] == "the number answers"
    assert returns_count("rejected") == rejected_before + 1
    mine = (await client.get(RETURNS, headers=b.headers)).json()["items"]
    assert (mine[0]["status"], mine[0]["rejection_reason"]) == ("rejected", "the number answers")
    assert await _lead_status(sessions, b.rows[0]["public_id"]) == "sold"
    # And rejecting it again changes nothing; approving it is refused
    again = await client.post(_reject(return_id), json={"reason": "again"}, headers=ops)
    assert again.status_code == 200 and again.json() == res.json()
    approve = await client.post(_approve(return_id), headers=ops)
    assert approve.status_code == 409 and approve.json()["detail"]["status"] == "rejected"
    assert await _refunds(sessions) == []


async def test_a_refunded_return_cannot_be_rejected(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
) -> None:
    b = await buyer(1)
    return_id = await _ask(client, b.headers, b.lead_ids()[0])
    ops = await admin(client, sessions, clock)
    assert (await client.post(_approve(return_id), headers=ops)).status_code == 200
    res = await client.post(_reject(return_id), json={"reason": "changed my mind"}, headers=ops)
    assert res.status_code == 409 and res.json()["detail"]["status"] == "refunded"


async def test_a_rejection_needs_a_reason(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
) -> None:
    b = await buyer(1)
    return_id = await _ask(client, b.headers, b.lead_ids()[0])
    ops = await admin(client, sessions, clock)
    for body in ({}, {"reason": "   "}, {"reason": "x" * 501}):
        res = await client.post(_reject(return_id), json=body, headers=ops)
        assert res.status_code == 422 and res.json()["detail"][0]["field"] == "reason"


async def test_admin_routes_are_for_admins_only(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
) -> None:
    # Given a requested return, its buyer and another agent
    b = await buyer(1)
    return_id = await _ask(client, b.headers, b.lead_ids()[0])
    _, other = await agent(client, sessions, clock)
    # Then neither agent may list, approve or reject returns (403), nor may anyone signed out
    for headers in (b.headers, other):
        for res in (
            await client.get(ADMIN_RETURNS, headers=headers),
            await client.post(_approve(return_id), headers=headers),
            await client.post(_reject(return_id), json={"reason": "no"}, headers=headers),
        ):
            assert res.status_code == 403 and res.json()["code"] == "forbidden", res.text
    assert (await client.post(_approve(return_id))).status_code == 401
    assert await _refunds(sessions) == []
    # And for an admin an unknown return is not found
    ops = await admin(client, sessions, clock)
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await client.post(_approve(unknown), headers=ops)).status_code == 404
    reject = await client.post(_reject(unknown), json={"reason": "no"}, headers=ops)
    assert reject.status_code == 404


async def test_the_admin_queue_filters_by_status_oldest_first(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
) -> None:
    # Given three buyers' returns asked a minute apart, one of them rejected
    asked = []
    buyers = [await buyer(1) for _ in range(3)]
    for b in buyers:
        clock.advance(timedelta(minutes=1))
        asked.append(await _ask(client, b.headers, b.lead_ids()[0]))
    ops = await admin(client, sessions, clock)
    await client.post(_reject(asked[1]), json={"reason": "no"}, headers=ops)
    # When the admin lists the requested ones, one per page
    page1 = (
        await client.get(ADMIN_RETURNS, params={"status": "requested", "limit": 1}, headers=ops)
    ).json()
    page2 = (
        await client.get(
            ADMIN_RETURNS,
            params={"status": "requested", "limit": 1, "cursor": page1["next_cursor"]},
            headers=ops,
        )
    ).json()
    # Then the oldest comes first, and the rejected one is not among them
    assert [r["id"] for r in page1["items"] + page2["items"]] == [asked[0], asked[2]]
    assert page2["next_cursor"] is None
    # And several statuses, or one buyer, may be asked for; an unknown status is a 422
    both = await client.get(
        ADMIN_RETURNS, params=[("status", "requested"), ("status", "rejected")], headers=ops
    )
    assert [r["id"] for r in both.json()["items"]] == asked
    one = await client.get(
        ADMIN_RETURNS, params={"account": str(buyers[1].account.public_id)}, headers=ops
    )
    assert [(r["id"], r["status"]) for r in one.json()["items"]] == [(asked[1], "rejected")]
    bad = await client.get(ADMIN_RETURNS, params={"status": "lost"}, headers=ops)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "status"


async def test_a_purchase_without_a_gateway_payment_cannot_be_refunded(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a sale recorded without an order (as before checkout existed) and its return
    rows = [lead_row(settings, cipher, now=clock.now())]
    await insert_leads(sessions, rows, now=clock.now())
    account, headers = await agent(client, sessions, clock)
    await record_purchase(
        sessions, lead_public_id=rows[0]["public_id"], account=account, now=clock.now()
    )
    return_id = await _ask(client, headers, str(rows[0]["public_id"]))
    ops = await admin(client, sessions, clock)
    # When an admin approves it, it is refused with the reason, and stays requested
    res = await client.post(_approve(return_id), headers=ops)
    assert res.status_code == 409 and "no gateway payment" in res.json()["error"]
    mine = (await client.get(RETURNS, headers=headers)).json()["items"]
    assert mine[0]["status"] == "requested"
