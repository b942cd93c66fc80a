"""`aiqleads payments …`: reconciliation from the command line, and the sandbox buyer's side of
a payment that asks them to act."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import click
from rich.console import Console

from aiqleads.checkout import flow
from aiqleads.checkout import repository as orders
from aiqleads.checkout.flow import Checkout
from aiqleads.config import get_settings
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.kit.clock import SystemClock
from aiqleads.models.enums import OrderStatus
from aiqleads.payments.gateways import GatewayError, build_gateway
from aiqleads.payments.gateways.sandbox import SandboxGateway
from aiqleads.payments.reconcile import Report, reconcile

console = Console()


@asynccontextmanager
async def _checkout() -> AsyncIterator[Checkout]:
    """The checkout flow on the configured database and gateway, closed after use."""
    settings = get_settings()
    engine = create_engine(settings)
    sessions = session_factory(engine)
    clock = SystemClock()
    gateway = build_gateway(settings.payments, sessions=sessions, clock=clock)
    try:
        yield Checkout(sessions=sessions, gateway=gateway, clock=clock)
    finally:
        await gateway.aclose()
        await engine.dispose()


@click.group()
def payments() -> None:
    """Payments: reconciliation of orders and the ledger; the sandbox buyer's confirmation."""


@payments.command("reconcile")
@click.option(
    "--grace-seconds",
    type=click.IntRange(0, 86_400),
    default=120,
    show_default=True,
    help="Leave orders younger than this to their checkout.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def reconcile_command(grace_seconds: int, as_json: bool) -> None:
    """Finish orders whose payment succeeded but was not finalised (or fail declined and
    abandoned ones), refund lines another buyer had first, and check the ledger balances.
    Exits 1 when the ledger does not balance."""

    async def run() -> Report:
        async with _checkout() as co:
            return await reconcile(co, grace=timedelta(seconds=grace_seconds))

    report = asyncio.run(run())
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        data = report.as_dict()
        counts = ", ".join(f"{k} {v}" for k, v in data.items() if k != "imbalances")
        console.print(f"reconciled: {counts}")
        for problem in report.imbalances:
            console.print(f"[red]ledger imbalance:[/] {problem}")
        if not report.imbalances:
            console.print("the ledger balances")
    if report.imbalances:
        raise SystemExit(1)


@payments.command("sandbox-confirm")
@click.argument("order_id", type=click.UUID)
@click.option(
    "--fail", "failed", is_flag=True, help="The buyer fails the challenge: the order fails."
)
def sandbox_confirm_command(order_id: uuid.UUID, failed: bool) -> None:
    """Act as the buyer of a sandbox order that answered 202 `requires_action` (3-D Secure)
    and finish it: the payment succeeds (or fails with --fail) and the order is paid (or
    fails) as the gateway's webhook would make it. Only with the sandbox gateway; exits 1 for
    an order that is not waiting for its buyer."""

    async def run() -> str:
        async with _checkout() as co:
            gateway = co.gateway
            if not isinstance(gateway, SandboxGateway):
                raise click.ClickException(
                    f"the configured gateway is {gateway.name}: only the sandbox's payments "
                    "are confirmed here"
                )
            async with co.sessions() as session:
                order = await orders.by_public_id(session, order_id)
            if order is None:
                raise click.ClickException(f"no order {order_id}")
            if order.gateway != gateway.name:
                raise click.ClickException(
                    f"order {order_id} belongs to the {order.gateway} gateway, not the sandbox"
                )
            if order.status != OrderStatus.REQUIRES_ACTION.value or not order.payment_reference:
                raise click.ClickException(
                    f"order {order_id} is {order.status}: not waiting for its buyer"
                )
            try:
                result = await gateway.resolve_pending(order.payment_reference, succeed=not failed)
            except (GatewayError, ValueError) as exc:
                raise click.ClickException(str(exc)) from exc
            await flow.apply(co, order.id, result)
            async with co.sessions() as session:
                after = await orders.by_public_id(session, order_id)
            return after.status if after is not None else "unknown"

    console.print(f"order {order_id}: {asyncio.run(run())}")
