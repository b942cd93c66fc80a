"""`aiqleads sources …`: each source's coverage and drift from its baseline."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import get_settings
from aiqleads.db.engine import run_in_transaction
from aiqleads.kit.clock import SystemClock
from aiqleads.sources import service
from aiqleads.sources.profile import PRICE_FIELDS, SourceReport

console = Console()
T = TypeVar("T")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    return run_in_transaction(get_settings(), work)


@click.group()
def sources() -> None:
    """Source monitoring: field coverage and drift from each source's baseline."""


def _value(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if name in PRICE_FIELDS:
        return f"${value / 100:,.0f}"
    return f"{value:.1%}"


def _print(report: SourceReport) -> None:
    latest = report.latest
    state = (
        "[red]DRIFTED[/]"
        if report.drifted
        else ("no baseline" if report.baseline is None else "ok")
        if report.sufficient or report.baseline is None
        else "too few records to judge"
    )
    console.print(
        f"[bold]{report.source}[/]: {latest.leads} leads, {latest.quarantined} quarantined"
        f" since {latest.window_start:%Y-%m-%d %H:%M} UTC — {state}"
    )
    table = Table("key field", "baseline", "latest", "drift", "threshold", "")
    if report.drifts:
        for d in report.drifts:
            table.add_row(
                d.field,
                _value(d.field, d.baseline),
                _value(d.field, d.latest),
                "-" if d.drift is None else f"{d.drift:.3f}",
                f"{d.threshold:.3f}",
                "[red]drifted[/]" if d.exceeded else "",
            )
    else:
        for name, value in latest.fields.items():
            table.add_row(name, "-", _value(name, value), "-", "-", "")
    console.print(table)
    coverage = Table("field", "coverage (share of leads that have it)")
    for name, share in latest.coverage.items():
        coverage.add_row(name, f"{share:.1%}")
    console.print(coverage)


@sources.command("report")
@click.option("--source", "names", multiple=True, help="Only this source (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def report_command(names: tuple[str, ...], as_json: bool) -> None:
    """Profile each source over the last AIQ_SOURCES__WINDOW_DAYS (coverage of each field;
    owner-phone share, price percentiles, ZIP-only share, quarantine share by reason), store
    it, and compare it with the source's baseline (the first profile, unless set with
    `aiqleads sources baseline`). Exits 3 when a source drifted beyond its thresholds."""
    settings = get_settings()
    now = SystemClock().now()
    reports = _in_transaction(
        lambda s: service.refresh(s, now=now, settings=settings.sources, sources=list(names))
    )
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2, default=str))
    else:
        if not reports:
            console.print("no source gave records in the window")
        for r in reports:
            _print(r)
    if any(r.drifted for r in reports):
        raise SystemExit(3)


@sources.command("baseline")
@click.option("--source", "names", multiple=True, help="Only this source (repeatable).")
def baseline_command(names: tuple[str, ...]) -> None:
    """Take each source's profile now as its baseline: accept what it gives now as normal."""
    settings = get_settings()
    now = SystemClock().now()
    made = _in_transaction(
        lambda s: service.set_baseline(s, now=now, settings=settings.sources, sources=list(names))
    )
    for p in made:
        console.print(f"{p.source}: baseline of {p.leads} leads, {p.quarantined} quarantined")
