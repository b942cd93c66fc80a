"""Reconciliation: finish what a crash, a lost answer or a missed webhook left open, and check
that the ledger balances (`aiqleads payments reconcile`, and a periodic worker task).

* An order still open after `grace` asks the gateway again with its own idempotency key (so
  nothing is charged twice): an order whose payment succeeded is finalised, a declined one
  fails. An order that recorded no payment reference and is older than the gateways'
  idempotency window (24 h at Stripe) cannot be asked safely any more: it fails as abandoned.
* A paid order with lines another buyer had first gets its refund, once.
* The ledger is checked order by order: a paid order's payment completed for the order's
  amount, refunds never above it, no completed payment left on a failed order unrefunded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from aiqleads.checkout import flow
from aiqleads.checkout import repository as orders
from aiqleads.db.engine import transaction
from aiqleads.errors import AppError
from aiqleads.models.enums import LedgerKind, LedgerState, OrderStatus
from aiqleads.payments import ledger
from aiqleads.payments.gateways import GatewayError, PaymentResult, PaymentStatus

IDEMPOTENCY_WINDOW = timedelta(hours=23)  # under Stripe's 24 h, to stay safe


@dataclass(slots=True)
class Report:
    """What one reconciliation did and found (counts of orders)."""

    checked: int = 0
    paid: int = 0
    failed: int = 0
    abandoned: int = 0
    still_open: int = 0
    refunds: int = 0
    imbalances: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "paid": self.paid,
            "failed": self.failed,
            "abandoned": self.abandoned,
            "still_open": self.still_open,
            "refunds": self.refunds,
            "imbalances": self.imbalances,
        }


async def reconcile(co: flow.Checkout, *, grace: timedelta = timedelta(minutes=2)) -> Report:
    """One pass over open orders, owed refunds and the ledger's balance."""
    report = Report()
    now = co.clock.now()
    async with co.sessions() as session:
        stale = await orders.stale(session, older_than=now - grace)
    for order in stale:
        report.checked += 1
        if order.payment_reference is None and order.created_at < now - IDEMPOTENCY_WINDOW:
            await flow.fail(
                co,
                order.id,
                PaymentResult(
                    reference=f"abandoned:{order.public_id}",
                    status=PaymentStatus.DECLINED,
                    amount_cents=order.amount_cents,
                    currency=order.currency,
                    decline_code="abandoned",
                ),
            )
            report.abandoned += 1
            continue
        try:
            await flow.pay(co, order)
        except (AppError, GatewayError):
            report.still_open += 1
            continue
        async with co.sessions() as session:
            after = await orders.by_id(session, order.id)
        status = OrderStatus(after.status) if after is not None else OrderStatus.PENDING
        if status is OrderStatus.PAID:
            report.paid += 1
        elif status is OrderStatus.FAILED:
            report.failed += 1
        else:
            report.still_open += 1
    report.refunds = await _owed_refunds(co)
    report.imbalances = await check_ledger(co)
    return report


async def _owed_refunds(co: flow.Checkout) -> int:
    done = 0
    async with co.sessions() as session:
        paid = await orders.paid_orders(session)
        owed = []
        for order in paid:
            lines = await orders.lines(session, order.id)
            lost = sum(r.price_cents for r in lines if r.outcome == "lost")
            refunded = await ledger.settled(
                session, LedgerKind.REFUND, order_id=order.id, states=(LedgerState.COMPLETED,)
            )
            if lost > refunded:
                owed.append(order.id)
    for order_id in owed:
        try:
            await flow.refund_lost(co, order_id)
            done += 1
        except GatewayError:
            continue
    return done


async def check_ledger(co: flow.Checkout) -> list[str]:
    """Every way the ledger disagrees with the orders, one line each (empty: it balances)."""
    problems: list[str] = []
    async with transaction(co.sessions) as session:
        for order in await orders.paid_orders(session):
            paid = await ledger.settled(
                session,
                LedgerKind.PAYMENT,
                order_id=order.id,
                states=(LedgerState.COMPLETED, LedgerState.REFUNDED),
            )
            refunded = await ledger.settled(
                session, LedgerKind.REFUND, order_id=order.id, states=(LedgerState.COMPLETED,)
            )
            if paid != order.amount_cents:
                problems.append(
                    f"order {order.public_id}: paid {paid} cents, its amount is "
                    f"{order.amount_cents}"
                )
            if refunded > paid:
                problems.append(f"order {order.public_id}: refunded {refunded} of {paid} cents")
    return problems
