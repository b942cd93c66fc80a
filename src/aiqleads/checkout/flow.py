"""The checkout flow, across its transactions and the gateway call between them.

1. One transaction opens the order: the account's cart lock, then the order of its live holds
   at the prices they fixed (or the order this Idempotency-Key already opened), and the
   order's ledger transaction, pending. Committed before any network call.
2. The gateway is asked to pay, with an idempotency key of the order's own: however often the
   call is repeated (a retried request, a lost answer, reconciliation), it charges once.
3. One transaction applies the answer (`apply`): paid → `finalize`; declined → the order
   fails and the holds stay until they lapse; "requires action" → the order waits for the
   webhook. The webhook and reconciliation apply answers through the same functions, and each
   takes effect once: the order moves by conditional UPDATE, the ledger records a state once.

Leads an order paid for that another buyer had by then (a hold that lapsed during a long
payment, and was taken) are refunded after the commit (`refund_lost`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Row, Update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.cart import repository as cart
from aiqleads.checkout import repository
from aiqleads.checkout.schemas import OrderLine, OrderOut
from aiqleads.checkout.tasks import notify_purchase
from aiqleads.db import bulk
from aiqleads.db.engine import transaction
from aiqleads.errors import AppError, Conflict, ErrorCode, InvalidInput
from aiqleads.events import repository as events
from aiqleads.kit.clock import Clock
from aiqleads.leads import repository as leads_repository
from aiqleads.leads import writes
from aiqleads.leads.schemas import MoneyOut
from aiqleads.models.enums import EventKind, HoldEnd, LedgerKind, LedgerState, OrderStatus
from aiqleads.observability.metrics import CHECKOUTS, GATEWAY_SECONDS, REFUNDS
from aiqleads.payments import ledger
from aiqleads.payments.gateways import (
    GatewayRejected,
    GatewayUnavailable,
    PaymentGateway,
    PaymentResult,
    PaymentStatus,
    RefundResult,
    RefundStatus,
    RejectionCode,
)
from aiqleads.purchases import repository as purchases
from aiqleads.webhooks import service as webhooks
from aiqleads.webhooks.schemas import WebhookEvent

log = logging.getLogger(__name__)


@contextmanager
def gateway_timer(gateway: PaymentGateway, operation: str) -> Iterator[None]:
    """Observe a gateway call's duration (answered or raised) by gateway and operation."""
    started = time.perf_counter()
    try:
        yield
    finally:
        GATEWAY_SECONDS.labels(gateway.name, operation).observe(time.perf_counter() - started)


OPEN = (OrderStatus.PENDING, OrderStatus.REQUIRES_ACTION)


@dataclass(frozen=True, slots=True)
class Checkout:
    """What the flow works with: its own transactions, the gateway, the clock."""

    sessions: async_sessionmaker[AsyncSession]
    gateway: PaymentGateway
    clock: Clock


def gateway_key(order: Row[Any]) -> str:
    """The gateway idempotency key of an order's payment: one per checkout attempt."""
    return f"aiq-order-{order.public_id}"


def _movement(
    order: Row[Any], kind: LedgerKind, txn: str, amount: int, ref: str | None
) -> ledger.Movement:
    return ledger.Movement(
        kind=kind,
        txn=txn,
        account_id=order.account_id,
        amount_cents=amount,
        currency=order.currency,
        gateway=order.gateway,
        order_id=order.id,
        gateway_reference=ref,
    )


def _payment_of(order: Row[Any], result: PaymentResult) -> ledger.Movement:
    """The ledger movement of the gateway's answer to an order's payment attempt."""
    return _movement(
        order,
        LedgerKind.PAYMENT,
        ledger.payment_txn(result.reference),
        result.amount_cents,
        result.reference,
    )


def cart_key(holds: Sequence[Row[Any, Any, Any, Any, Any]], payment_token: str | None) -> str:
    """The Idempotency-Key of a checkout sent without one: the same holds paid with the same
    token are the same attempt. Another token, or holds changed since, is another attempt
    (unless an order of those holds is still open: `open_order`). `holds` as
    `cart.live_hold_prices` returns them."""
    ids = ",".join(str(h.hold_id) for h in sorted(holds, key=lambda h: h.hold_id))
    digest = hashlib.sha256(f"{ids}|{payment_token or ''}".encode()).hexdigest()
    return f"cart-{digest[:40]}"


async def open_order(
    co: Checkout, *, account_id: int, idempotency_key: str | None, payment_token: str | None
) -> Row[Any]:
    """The order of the account's live holds, or the one this key opened before. Without a
    key: the one `cart_key` names, else an order still waiting for its payment's outcome (an
    unanswered 503, a 202) made of one of the current holds (`_waiting_order`), so a client
    retrying without a key is not charged again, even after another of those holds lapsed or
    was let go. Raises Conflict when
    the cart holds no lead, when the key was used with another payment token (a retry may
    leave the token out), or (without a key) when such a waiting order was made with another
    token."""
    now = co.clock.now()
    async with transaction(co.sessions) as session:
        await cart.lock_cart(session, account_id, now=now)
        holds = None
        if idempotency_key is None:
            holds = await cart.live_hold_prices(session, account_id, now=now)
            idempotency_key = cart_key(holds, payment_token)
            waiting = await _waiting_order(session, account_id, holds)
            if waiting is not None and waiting.idempotency_key != idempotency_key:
                if waiting.payment_token != payment_token:
                    raise Conflict(
                        "an order made of these holds is still waiting for its payment: retry "
                        "it with its Idempotency-Key, or pay anew with a new key (should the "
                        "waiting payment go through too, what it bought twice is refunded)",
                        detail={"order_id": str(waiting.public_id)},
                        headers={"Idempotency-Key": waiting.idempotency_key},
                    )
                return waiting
        existing = await repository.by_key(session, account_id, idempotency_key)
        if existing is not None:
            # A retry may leave the token out; another token is another attempt.
            if payment_token is not None and existing.payment_token != payment_token:
                raise Conflict(
                    "this Idempotency-Key was used with another payment token",
                    detail={"order_id": str(existing.public_id)},
                )
            return existing
        if holds is None:
            holds = await cart.live_hold_prices(session, account_id, now=now)
        if not holds:
            raise Conflict("your cart holds no lead: hold leads, then check out")
        if len({h.hold_currency for h in holds}) > 1:
            raise Conflict("the cart holds leads priced in several currencies")
        order = await repository.create_order(
            session,
            account_id=account_id,
            idempotency_key=idempotency_key,
            gateway=co.gateway.name,
            payment_token=payment_token,
            lines=[(h.id, h.hold_price_cents, h.hold_currency) for h in holds],
            now=now,
        )
        txn = ledger.order_txn(order.id)
        await ledger.begin(
            session, _movement(order, LedgerKind.ORDER, txn, order.amount_cents, None), now=now
        )
        return order


async def _waiting_order(
    session: AsyncSession, account_id: int, holds: Sequence[Row[Any, Any, Any, Any, Any]]
) -> Row[Any] | None:
    """The newest order still waiting for its payment that was made of one of these live
    holds (it has the hold's lead, and came after the hold was taken): the attempt a key-less
    retry repeats. An order of holds since lapsed, whose leads were held again, is not."""
    taken = {h.id: h.hold_taken_at for h in holds}
    for line in await repository.open_lines(session, account_id, list(taken)):
        if line.created_at >= taken[line.lead_id]:
            return line
    return None


async def pay(co: Checkout, order: Row[Any]) -> PaymentResult | None:
    """Ask the gateway to pay an open order with the token it was opened with (again, if need
    be: its idempotency key makes that safe), apply the answer and return it (None for an
    order no longer open: nothing was asked). Raises AppError 503 when the gateway cannot be
    reached (the order stays open: retry with the same Idempotency-Key), 422 naming
    `payment_token` when the gateway refuses the token (the order fails), 409 when it refuses
    the request otherwise."""
    if OrderStatus(order.status) not in OPEN:
        return None
    try:
        if order.payment_reference is not None:
            with gateway_timer(co.gateway, "retrieve_payment"):
                result = await co.gateway.retrieve_payment(order.payment_reference)
        else:
            with gateway_timer(co.gateway, "create_payment"):
                result = await co.gateway.create_payment(
                    amount_cents=order.amount_cents,
                    currency=order.currency,
                    idempotency_key=gateway_key(order),
                    payment_token=order.payment_token,
                    description=f"AIQLeads order {order.public_id}",
                    metadata={"order": str(order.public_id)},
                )
    except GatewayUnavailable as exc:
        CHECKOUTS.labels("gateway_unavailable").inc()
        raise AppError(
            "the payment gateway did not answer; retry with the same Idempotency-Key",
            status=503,
            code=ErrorCode.PAYMENT_UNAVAILABLE,
            detail={"order_id": str(order.public_id)},
            headers={"Retry-After": "5", "Idempotency-Key": order.idempotency_key},
        ) from exc
    except GatewayRejected as exc:
        CHECKOUTS.labels("rejected").inc()
        if exc.code is RejectionCode.IDEMPOTENCY_CONFLICT:
            raise Conflict("this Idempotency-Key was used for a different checkout") from exc
        if exc.param == "payment_token":  # the buyer's to correct: a 422 naming it
            # No payment was made, and this token will never make one: the order fails now
            # (its holds stay), rather than waiting open for reconciliation to ask again.
            await fail(co, order.id, _refused(order))
            raise InvalidInput(
                "payment_token", exc.message, headers={"Idempotency-Key": order.idempotency_key}
            ) from exc
        raise Conflict(f"the payment gateway refused the request: {exc}") from exc
    await apply(co, order.id, result)
    return result


TOKEN_REFUSED = "payment_token_refused"  # noqa: S105 (a decline code, not a secret)


def _refused(order: Row[Any]) -> PaymentResult:
    """The outcome recorded for an order whose payment token the gateway refused: declined,
    under a reference of the order's own (the gateway made no payment to name)."""
    return PaymentResult(
        reference=f"refused:{order.public_id}",
        status=PaymentStatus.DECLINED,
        amount_cents=order.amount_cents,
        currency=order.currency,
        decline_code=TOKEN_REFUSED,
    )


async def apply(co: Checkout, order_id: int, result: PaymentResult) -> None:
    """Apply a gateway's answer about an order's payment: the one way every path (the
    checkout's own answer, a webhook, reconciliation) changes an order."""
    if result.status is PaymentStatus.SUCCEEDED:
        moved, lost = await finalize(co, order_id, result)
        if lost:
            await refund_lost(co, order_id)
        if not moved:  # an order this answer paid is not a failed one: nothing came in late
            await refund_late(co, order_id, result)
    elif result.status is PaymentStatus.DECLINED:
        await fail(co, order_id, result)
    else:
        await await_action(co, order_id, result)


async def finalize(co: Checkout, order_id: int, result: PaymentResult) -> tuple[bool, bool]:
    """The order's payment succeeded: in one transaction the order is paid, each of its leads
    sold and unlocked to the buyer (or, when another buyer had it by then, marked lost), the
    holds closed, and the ledger's payment and order completed. Returns (whether this call
    moved the order to paid, whether any line was lost: to refund). Does nothing for an order
    already paid or failed. The lines are written set-based: a fixed number of statements
    whatever the number of leads."""
    now = co.clock.now()
    async with transaction(co.sessions) as session:
        order = await repository.by_id(session, order_id)
        assert order is not None
        if result.amount_cents != order.amount_cents or result.currency != order.currency:
            log.error("payment amount differs from its order", extra={"order": order_id})
            raise Conflict("the gateway's amount differs from the order's")
        moved = await repository.move(
            session,
            order_id,
            to=OrderStatus.PAID,
            only_from=OPEN,
            now=now,
            payment_reference=result.reference,
        )
        if not moved:
            return False, False
        lines = await repository.lines(session, order_id)
        sold = await _sell(session, order, lines, now)
        payment = _payment_of(order, result)
        order_mv = _movement(
            order, LedgerKind.ORDER, ledger.order_txn(order_id), order.amount_cents, None
        )
        await ledger.record_all(
            session,
            [
                (payment, LedgerState.PENDING),
                (payment, LedgerState.COMPLETED),
                (order_mv, LedgerState.COMPLETED),
            ],
            now=now,
        )
        await _confirm(session, order, lines, sold, now)
    CHECKOUTS.labels("paid").inc()
    return True, len(sold) < len(lines)


async def _confirm(
    session: AsyncSession, order: Row[Any], lines: Sequence[Row[Any]], sold: set[int], now: datetime
) -> None:
    """In the finalising transaction: the `purchase.confirmed` webhook of an API client and the
    buyer's notice, both sent once it commits (the worker's outbox)."""
    public = await leads_repository.public_ids(session, [r.lead_id for r in lines])
    await webhooks.emit(
        session,
        order.account_id,
        WebhookEvent.PURCHASE_CONFIRMED,
        {
            "order_id": str(order.public_id),
            "total": {"cents": order.amount_cents, "currency": order.currency},
            "leads": [
                {
                    "lead_id": str(public[r.lead_id]),
                    "price": {"cents": r.price_cents, "currency": r.currency},
                    "outcome": "sold" if r.lead_id in sold else "lost",
                }
                for r in lines
            ],
        },
        now=now,
    )
    await notify_purchase.enqueue(session, order_id=order.id)


async def _sell(
    session: AsyncSession, order: Row[Any], lines: Sequence[Row[Any]], now: datetime
) -> set[int]:
    """Sell the order's leads to its buyer, record the purchases, the lines' outcomes, the
    holds' ends and the purchase events; returns the lead ids sold. All lines at once; only if
    the database refuses a purchase (a lead sold before, the unique purchase per lead) are they
    sold one by one, so that lead alone is lost."""
    ids = [r.lead_id for r in lines]
    savepoint = await session.begin_nested()
    try:
        sold = await writes.sell_many(session, ids, account_id=order.account_id, now=now)
        await purchases.add_purchases(
            session, [_purchase(order, r, now) for r in lines if r.lead_id in sold]
        )
    except IntegrityError:
        await savepoint.rollback()
        sold = {r.lead_id for r in lines if await _sell_one(session, order, r, now)}
    else:
        await savepoint.commit()
    account = order.account_id
    lost = [i for i in ids if i not in sold]
    # The lines' outcomes, the holds' ends and the purchase events: one round trip on
    # PostgreSQL.
    writes_after: list[Insert | Update] = [repository.setting_outcomes(order.id, sold)]
    for ended, reason in ((sorted(sold), HoldEnd.PURCHASED), (lost, HoldEnd.LOST)):
        if ended:
            writes_after.append(
                cart.ending_holds(account_id=account, lead_ids=ended, reason=reason, now=now)
            )
    bought = [
        events.event(
            EventKind.PURCHASE,
            account_id=account,
            lead_id=r.lead_id,
            at=now,
            data={"order": str(order.public_id), "price_cents": r.price_cents},
        )
        for r in lines
        if r.lead_id in sold
    ]
    if bought:
        writes_after.append(events.appending(bought))
    await bulk.execute_together(session, writes_after)
    return sold


def _purchase(order: Row[Any], line: Row[Any], now: datetime) -> dict[str, Any]:
    return {
        "lead_id": line.lead_id,
        "account_id": order.account_id,
        "order_id": order.id,
        "price_cents": line.price_cents,
        "currency": line.currency,
        "purchased_at": now,
    }


async def _sell_one(session: AsyncSession, order: Row[Any], line: Row[Any], now: datetime) -> bool:
    """One line sold and its purchase recorded, or nothing (a savepoint of its own)."""
    savepoint = await session.begin_nested()
    try:
        sold = await writes.sell(session, line.lead_id, account_id=order.account_id, now=now)
        if sold:
            await purchases.add_purchases(session, [_purchase(order, line, now)])
    except IntegrityError:  # sold to someone else after all: the unique purchase per lead
        await savepoint.rollback()
        return False
    await savepoint.commit()
    return sold


async def fail(co: Checkout, order_id: int, result: PaymentResult) -> None:
    """The payment was declined: the order fails, its holds stay until they lapse."""
    now = co.clock.now()
    async with transaction(co.sessions) as session:
        order = await repository.by_id(session, order_id)
        assert order is not None
        moved = await repository.move(
            session,
            order_id,
            to=OrderStatus.FAILED,
            only_from=OPEN,
            now=now,
            payment_reference=result.reference,
            decline_code=result.decline_code,
        )
        if not moved:
            return
        payment = _payment_of(order, result)
        order_mv = _movement(
            order, LedgerKind.ORDER, ledger.order_txn(order_id), order.amount_cents, None
        )
        await ledger.record_all(
            session,
            [
                (payment, LedgerState.PENDING),
                (payment, LedgerState.FAILED),
                (order_mv, LedgerState.FAILED),
            ],
            now=now,
        )
    CHECKOUTS.labels("declined").inc()


async def await_action(co: Checkout, order_id: int, result: PaymentResult) -> None:
    """The buyer must act (or the gateway is still processing): remember the payment, record it
    pending; its webhook or reconciliation finishes the order."""
    now = co.clock.now()
    async with transaction(co.sessions) as session:
        order = await repository.by_id(session, order_id)
        assert order is not None
        await repository.move(
            session,
            order_id,
            to=OrderStatus.REQUIRES_ACTION,
            only_from=OPEN,
            now=now,
            payment_reference=result.reference,
        )
        payment = _payment_of(order, result)
        await ledger.record(session, payment, LedgerState.PENDING, now=now)
    CHECKOUTS.labels("requires_action").inc()


async def refund_lost(co: Checkout, order_id: int) -> None:
    """Refund, through the gateway, the lines of a paid order that another buyer had first.
    Safe to repeat: one refund per order for its lost lines, by idempotency key."""
    async with transaction(co.sessions) as session:
        order = await repository.by_id(session, order_id)
        assert order is not None
        lost = [r for r in await repository.lines(session, order_id) if r.outcome == "lost"]
    amount = sum(r.price_cents for r in lost)
    if not lost or order.payment_reference is None:
        return
    await refund(
        co,
        order,
        amount_cents=amount,
        idempotency_key=f"aiq-order-{order.public_id}-lost",
        reason="duplicate",
    )


async def refund(
    co: Checkout,
    order: Row[Any],
    *,
    amount_cents: int,
    idempotency_key: str,
    reason: str,
    payment_reference: str | None = None,
    payment_txn: str | None = None,
) -> RefundStatus:
    """Refund part or all of a paid order through the gateway and record it in the ledger
    (refund pending → completed | failed; the payment → refunded once all of it is). Raises
    GatewayUnavailable when the gateway cannot be reached (repeat with the same key)."""
    reference = payment_reference or order.payment_reference
    with gateway_timer(co.gateway, "refund"):
        result = await co.gateway.refund(
            reference=reference,
            amount_cents=amount_cents,
            idempotency_key=idempotency_key,
            reason=reason,
        )
    async with transaction(co.sessions) as session:
        await record_refund(
            session,
            order,
            result,
            now=co.clock.now(),
            payment_txn=payment_txn or ledger.payment_txn(reference),
        )
    REFUNDS.labels(result.status.value).inc()
    return result.status


async def record_refund(
    session: AsyncSession,
    order: Row[Any],
    result: RefundResult,
    *,
    now: datetime,
    payment_txn: str,
) -> None:
    """A gateway's answer to a refund of the order, in the ledger: the refund pending, then
    completed or failed as answered (pending alone while the gateway settles it; its webhook
    completes it, see `refund_settled`), each state once, so a repeated refund call records
    nothing twice; then the payment refunded once the order's completed refunds cover it."""
    mv = _movement(
        order,
        LedgerKind.REFUND,
        ledger.refund_txn(result.reference),
        result.amount_cents,
        result.reference,
    )
    state = await ledger.state_of(session, mv.txn)
    if state is None:
        await ledger.record(session, mv, LedgerState.PENDING, now=now)
        state = LedgerState.PENDING
    final = {RefundStatus.SUCCEEDED: LedgerState.COMPLETED, RefundStatus.FAILED: LedgerState.FAILED}
    if state is LedgerState.PENDING and result.status in final:
        await ledger.record(session, mv, final[result.status], now=now)
    await _refunded_in_full(session, order, payment_txn, now)


async def _refunded_in_full(
    session: AsyncSession, order: Row[Any], payment_txn: str, now: datetime
) -> None:
    """Once the refunds of an order cover its payment, the payment is refunded."""
    refunded = await ledger.settled(
        session, LedgerKind.REFUND, order_id=order.id, states=(LedgerState.COMPLETED,)
    )
    if refunded >= order.amount_cents and await ledger.state_of(session, payment_txn) is (
        LedgerState.COMPLETED
    ):
        payment = _movement(
            order, LedgerKind.PAYMENT, payment_txn, order.amount_cents, order.payment_reference
        )
        await ledger.record(session, payment, LedgerState.REFUNDED, now=now)


async def refund_settled(co: Checkout, refund_reference: str, status: RefundStatus) -> None:
    """A refund the gateway reported later (a webhook): complete or fail its ledger
    transaction, once."""
    if status is RefundStatus.PENDING:
        return
    now = co.clock.now()
    async with transaction(co.sessions) as session:
        txn = ledger.refund_txn(refund_reference)
        rows = await ledger.rows_of(session, txn)
        if not rows or rows[-1]["state"] != LedgerState.PENDING.value:
            return
        order = await repository.by_id(session, rows[-1]["order_id"])
        assert order is not None
        mv = _movement(order, LedgerKind.REFUND, txn, rows[-1]["amount_cents"], refund_reference)
        final = LedgerState.COMPLETED if status is RefundStatus.SUCCEEDED else LedgerState.FAILED
        await ledger.record(session, mv, final, now=now)
        if order.payment_reference is not None:
            await _refunded_in_full(
                session, order, ledger.payment_txn(order.payment_reference), now
            )


async def refund_late(co: Checkout, order_id: int, result: PaymentResult) -> None:
    """A payment that succeeded for an order already failed (a buyer who completed the
    payment after its decline was answered): the money came in, no lead was sold, so it is
    recorded as a payment of its own and refunded in full."""
    async with co.sessions() as session:
        order = await repository.by_id(session, order_id)
        assert order is not None
    if order.status != OrderStatus.FAILED.value:
        return
    now = co.clock.now()
    late = f"{ledger.payment_txn(result.reference)}:late"
    async with transaction(co.sessions) as session:
        mv = _movement(order, LedgerKind.PAYMENT, late, result.amount_cents, result.reference)
        await ledger.record(session, mv, LedgerState.PENDING, now=now)
        await ledger.record(session, mv, LedgerState.COMPLETED, now=now)
    await refund(
        co,
        order,
        amount_cents=result.amount_cents,
        idempotency_key=f"aiq-order-{order.public_id}-late",
        reason="duplicate",
        payment_reference=result.reference,
        payment_txn=late,
    )


async def present(co: Checkout, order_id: int) -> OrderOut:
    async with co.sessions() as session:
        order = await repository.by_id(session, order_id)
        assert order is not None
        return await order_out(session, order)


async def order_out(session: AsyncSession, order: Row[Any]) -> OrderOut:
    lines = await repository.lines(session, order.id)
    public = await leads_repository.public_ids(session, [r.lead_id for r in lines])
    return OrderOut(
        id=order.public_id,
        status=OrderStatus(order.status),
        total=MoneyOut(cents=order.amount_cents, currency=order.currency),
        items=[
            OrderLine(
                lead_id=public[r.lead_id],
                price=MoneyOut(cents=r.price_cents, currency=r.currency),
                outcome=r.outcome,
            )
            for r in lines
        ],
        created_at=order.created_at,
        paid_at=order.paid_at,
        decline_code=order.decline_code,
    )
