"""Approving a return: the refund through the gateway, then the return's effects, once.

1. One transaction checks the return and its payment, moves it requested → approved, and
   claims its refund (`repository.claim_refund`): one conditional UPDATE, so of two approvals
   at once exactly one goes on to the gateway; the other is told the approval is under way. An
   approved return whose refund failed (claim released) or whose approver died (claim older
   than `CLAIM`) is claimed again by the next approval: a retry.
2. Outside any transaction, the gateway refunds the price paid with an idempotency key of the
   return's own (`refund_key`): however often the refund is asked, the buyer is refunded once
   (a retry after a lost answer gets the first refund back). When the gateway cannot be reached
   the return stays `approved`; approving it again (or `finish_approved`, for reconciliation)
   finishes it.
3. One transaction applies the refund: the return moves approved → refunded by conditional
   UPDATE, and with it, in the same transaction, the refund's ledger rows, the payment marked
   refunded once refunds cover it, the lead `returned` through the write path, and the
   `return` event.

Why not `checkout.flow.refund`: it records the ledger in a transaction of its own, before the
return and the lead change, and records "pending" again when repeated (which the ledger refuses
once the refund completed); a return needs its ledger rows to commit with the return's move, so
a retry records them exactly once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth.principal import Principal
from aiqleads.checkout import repository as orders
from aiqleads.checkout.flow import Checkout, gateway_timer, record_refund
from aiqleads.db.engine import transaction
from aiqleads.errors import AppError, Conflict, ErrorCode, NotFound
from aiqleads.events import repository as events
from aiqleads.leads import writes
from aiqleads.models.enums import (
    EventKind,
    LeadStatus,
    ReturnStatus,
)
from aiqleads.observability.metrics import REFUNDS, RETURNS
from aiqleads.payments import ledger
from aiqleads.payments.gateways import (
    GatewayRejected,
    GatewayUnavailable,
    RefundResult,
    RefundStatus,
)
from aiqleads.purchases import repository
from aiqleads.purchases.schemas import ReturnOut
from aiqleads.purchases.service import return_out

log = logging.getLogger(__name__)

# How long an approval's claim on a refund keeps others away: longer than a gateway call with
# its retries (Stripe: 30 s timeout, 2 retries), short enough that a crashed approval's return
# can be approved again soon.
CLAIM = timedelta(minutes=2)


def refund_key(ret: Row[Any]) -> str:
    """The gateway idempotency key of a return's refund: one per return."""
    return f"aiq-return-{ret.public_id}"


async def approve(co: Checkout, admin: Principal, *, return_id: uuid.UUID) -> ReturnOut:
    """Approve a return and refund its price through the gateway (see the module docstring).
    Approving a refunded return again answers it unchanged.

    Raises NotFound; Conflict when the return was rejected, another approval of it is under
    way (detail.reason `approval_in_progress`), its purchase has no payment at this gateway to
    refund, or the gateway refused or failed the refund (the return stays `approved`, for an
    operator to settle); AppError 503 `payment_unavailable` when the gateway did not answer
    (the return stays `approved`: approve it again)."""
    async with transaction(co.sessions) as session:
        ret = await repository.return_by_public_id(session, return_id)
        if ret is None:
            raise NotFound("no such return")
        claimed = await _claim(session, co, ret, admin_id=admin.account_id)
    if claimed is not None:  # else refunded already
        await refund(co, *claimed)
    async with co.sessions() as session:
        done = await repository.return_by_id(session, ret.id)
    assert done is not None
    return return_out(done)


async def _claim(
    session: AsyncSession, co: Checkout, ret: Row[Any], *, admin_id: int
) -> tuple[Row[Any], Row[Any]] | None:
    """Step 1 in the caller's transaction: the claimed return (read again) and its order, or
    None when it is refunded already. Raises Conflict as `approve` says."""
    if ret.status == ReturnStatus.REJECTED.value:
        raise _rejected(ret)
    if ret.status == ReturnStatus.REFUNDED.value:
        return None
    order = await _payment_of(session, co, ret)
    now = co.clock.now()
    claimed = await repository.claim_refund(
        session, ret.id, admin_id=admin_id, now=now, lapsed=now - CLAIM
    )
    after = await repository.return_by_id(session, ret.id)
    assert after is not None
    if not claimed:
        if after.status == ReturnStatus.REJECTED.value:  # rejected meanwhile
            raise _rejected(after)
        if after.status == ReturnStatus.REFUNDED.value:  # another approval finished it
            return None
        raise Conflict(
            "another approval of this return is under way; look again in a moment",
            detail={
                "reason": "approval_in_progress",
                "return_id": str(after.public_id),
                "status": after.status,
            },
            headers={"Retry-After": "5"},
        )
    if ret.status == ReturnStatus.REQUESTED.value:
        RETURNS.labels(ReturnStatus.APPROVED.value).inc()
    return after, order


def _rejected(ret: Row[Any]) -> Conflict:
    return Conflict(
        "the return was rejected: it cannot be approved",
        detail={"return_id": str(ret.public_id), "status": ret.status},
    )


async def _payment_of(session: AsyncSession, co: Checkout, ret: Row[Any]) -> Row[Any]:
    """The order whose payment the return refunds. Raises Conflict when there is none at this
    gateway (a purchase recorded without an order, or paid through another gateway)."""
    order = None if ret.order_id is None else await orders.by_id(session, ret.order_id)
    detail = {"return_id": str(ret.public_id), "status": ret.status}
    if order is None or order.payment_reference is None:
        raise Conflict("this purchase has no gateway payment to refund", detail=detail)
    if order.gateway != co.gateway.name:
        raise Conflict(
            f"this purchase was paid through the {order.gateway} gateway, not the configured"
            f" {co.gateway.name} gateway: refund it there",
            detail=detail,
        )
    return order


async def refund(co: Checkout, ret: Row[Any], order: Row[Any]) -> None:
    """Steps 2 and 3 for a claimed, approved return (see the module docstring). On a gateway
    failure the claim is released, so the next approval retries at once."""
    detail = {"return_id": str(ret.public_id), "status": ReturnStatus.APPROVED.value}
    try:
        with gateway_timer(co.gateway, "refund"):
            result = await co.gateway.refund(
                reference=order.payment_reference,
                amount_cents=ret.amount_cents,
                idempotency_key=refund_key(ret),
                reason=ret.reason,
            )
    except GatewayUnavailable as exc:
        await _release(co, ret)
        raise AppError(
            "the payment gateway did not answer; the return stays approved: approve it again",
            status=503,
            code=ErrorCode.PAYMENT_UNAVAILABLE,
            detail=detail,
            headers={"Retry-After": "5"},
        ) from exc
    except GatewayRejected as exc:
        await _release(co, ret)
        log.error(
            "the gateway refused a return's refund",
            extra={"return": str(ret.public_id), "code": exc.code.value},
        )
        raise Conflict(
            f"the payment gateway refused the refund: {exc.message}; the return stays approved",
            detail={**detail, "gateway_code": exc.code.value},
        ) from exc
    REFUNDS.labels(result.status.value).inc()
    if result.amount_cents != ret.amount_cents or result.currency != ret.currency:
        log.error("a refund's amount differs from its return's", extra={"return": ret.id})
    async with transaction(co.sessions) as session:
        finished = await _apply(session, co, ret, order, result)
    if finished:
        RETURNS.labels(ReturnStatus.REFUNDED.value).inc()
    if result.status is RefundStatus.FAILED:
        await _release(co, ret)
        raise Conflict(
            "the payment gateway could not refund the payment; the return stays approved",
            detail={**detail, "refund_reference": result.reference},
        )


async def _release(co: Checkout, ret: Row[Any]) -> None:
    async with transaction(co.sessions) as session:
        await repository.release_claim(session, ret.id)


async def _apply(
    session: AsyncSession, co: Checkout, ret: Row[Any], order: Row[Any], result: RefundResult
) -> bool:
    """Step 3, in the caller's transaction; False when another approval did it first (or the
    refund failed: only its ledger rows are recorded)."""
    now = co.clock.now()
    if result.status is RefundStatus.FAILED:
        await record_refund(
            session,
            order,
            result,
            now=now,
            payment_txn=ledger.payment_txn(order.payment_reference),
        )
        return False
    moved = await repository.move_return(
        session,
        ret.id,
        to=ReturnStatus.REFUNDED,
        only_from=[ReturnStatus.APPROVED],
        now=now,
        refund_reference=result.reference,
        refunded_at=now,
    )
    if not moved:
        return False
    await record_refund(
        session,
        order,
        result,
        now=now,
        payment_txn=ledger.payment_txn(order.payment_reference),
    )
    returned = await writes.set_status(
        session,
        [ret.lead_id],
        LeadStatus.RETURNED,
        now=now,
        cause="return",
        only_from=[LeadStatus.SOLD],
    )
    if not returned:
        log.warning("a refunded return's lead was not sold", extra={"return": ret.id})
    await events.append(
        session,
        [
            events.event(
                EventKind.RETURN,
                account_id=ret.account_id,
                lead_id=ret.lead_id,
                at=now,
                data={
                    "return": str(ret.public_id),
                    "reason": ret.reason,
                    "refund_cents": result.amount_cents,
                },
            )
        ],
    )
    return True


async def finish_approved(co: Checkout) -> int:
    """Retry the refund of every approved return no approval is working on (after a gateway
    outage or a crash; for reconciliation). Returns how many were refunded; one that fails
    again stays approved and is logged. The claim is taken in the name of the admin who
    approved the return."""
    async with co.sessions() as session:
        ids = await repository.approved_returns(session)
    finished = 0
    for return_id in ids:
        try:
            async with transaction(co.sessions) as session:
                ret = await repository.return_by_id(session, return_id)
                if ret is None or ret.status != ReturnStatus.APPROVED.value:
                    continue
                claimed = await _claim(session, co, ret, admin_id=ret.decided_by)
            if claimed is None:
                continue
            await refund(co, *claimed)
        except AppError as exc:
            log.warning(
                "an approved return could not be refunded yet",
                extra={"return": return_id, "reason": exc.message},
            )
            continue
        finished += 1
    return finished
