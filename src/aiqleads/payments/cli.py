"""`aiqleads payments …`: reconciliation from the command line."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import click
from rich.console import Console

from aiqleads.checkout.flow import Checkout
from aiqleads.config import get_settings
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.kit.clock import SystemClock
from aiqleads.payments.gateways import build_gateway
from aiqleads.payments.reconcile import Report, reconcile

console = Console()


@click.group()
def payments() -> None:
    """Payments: reconciliation of orders and the ledger."""


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
    settings = get_settings()

    async def run() -> Report:
        engine = create_engine(settings)
        sessions = session_factory(engine)
        clock = SystemClock()
        gateway = build_gateway(settings.payments, sessions=sessions, clock=clock)
        try:
            co = Checkout(sessions=sessions, gateway=gateway, clock=clock)
            return await reconcile(co, grace=timedelta(seconds=grace_seconds))
        finally:
            await gateway.aclose()
            await engine.dispose()

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
