"""Reconciliation as a periodic task (every AIQ_WORKER__RECONCILE_SECONDS), so an order left
open by a crash, a lost answer or a missed webhook is finished without an operator."""

from __future__ import annotations

import logging

from aiqleads.checkout.flow import Checkout
from aiqleads.payments.gateways import build_gateway
from aiqleads.payments.reconcile import reconcile
from aiqleads.worker import TaskContext, task

log = logging.getLogger(__name__)


@task("payments.reconcile", every=lambda settings: settings.worker.reconcile_seconds)
async def reconcile_payments(ctx: TaskContext) -> None:
    """One reconciliation pass; an imbalance is logged as an error for the alerts."""
    gateway = build_gateway(ctx.settings.payments, sessions=ctx.sessions, clock=ctx.clock)
    try:
        report = await reconcile(Checkout(sessions=ctx.sessions, gateway=gateway, clock=ctx.clock))
    finally:
        await gateway.aclose()
    if report.imbalances:
        log.error("ledger imbalance", extra={"imbalances": report.imbalances})
    elif report.checked or report.refunds:
        log.info("reconciled", extra=report.as_dict())
