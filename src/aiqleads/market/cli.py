"""`aiqleads market …`: load published market series, compute the leads' own, show a region."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import get_settings
from aiqleads.db.engine import run_in_transaction
from aiqleads.kit.clock import SystemClock
from aiqleads.market import sample, service
from aiqleads.market.loaders import (
    REDFIN,
    ZILLOW,
    ZILLOW_MEASURES,
    LoadReport,
    UnreadableFile,
)
from aiqleads.metros import UnknownMetroError, get_metro

console = Console()
_ZIP = re.compile(r"\d{5}")
T = TypeVar("T")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    return run_in_transaction(get_settings(), work)


@click.group()
def market() -> None:
    """Market series per ZIP and metro: Zillow, Redfin and the leads' own."""


def _print_report(name: str, report: LoadReport, written: int) -> None:
    console.print(
        f"[bold]{name}[/]: {report.rows} rows, {report.values} values"
        f" ({written} series values written), {report.blank} blank cells,"
        f" {sum(report.rejected.values())} rejected"
    )
    if report.rejected:
        table = Table("reason", "count", "examples")
        for reason, n in report.rejected.most_common():
            table.add_row(reason, str(n), "; ".join(report.examples.get(reason, [])))
        console.print(table)


@market.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice([ZILLOW, REDFIN]), required=True)
@click.option(
    "--measure",
    type=click.Choice(ZILLOW_MEASURES),
    default=None,
    help="Zillow only: zhvi or zori (default: from the name).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def load_command(path: Path, fmt: str, measure: str | None, as_json: bool) -> None:
    """Load a Zillow Research wide CSV or a Redfin market tracker TSV into the market series
    (loading again updates values, never duplicates them). Rows or values that cannot be used
    are counted with their reason."""
    try:
        loaded = _in_transaction(lambda s: service.load(s, path, fmt, measure=measure))
    except UnreadableFile as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({**loaded.report.as_dict(), "written": loaded.written}))
    else:
        _print_report(path.name, loaded.report, loaded.written)


@market.command("load-sample")
def load_sample_command() -> None:
    """Load the bundled Zillow series of the demo metro (Seattle)."""
    found = _in_transaction(sample.load_bundled)
    for name, loaded in found.items():
        _print_report(name, loaded.report, loaded.written)


@market.command("compute")
def compute_command() -> None:
    """Recompute the series computed from the leads (per ZIP and metro, monthly), and store a
    snapshot of each region's context this month (what the lead features read back)."""
    now = SystemClock().now()
    counts = _in_transaction(lambda s: service.compute(s, now=now))
    console.print(f"{counts['points']} values for {counts['regions']} regions (ZIPs and metros)")
    console.print(
        f"context snapshots of {counts['contexts']} regions as of {now:%Y-%m-%d %H:%M} UTC"
    )


@market.command("context")
@click.option("--zip", "zip_code", default=None)
@click.option("--metro", default=None)
@click.option("--month", type=click.DateTime(["%Y-%m", "%Y-%m-%d"]), required=True)
def context_command(zip_code: str | None, metro: str | None, month: datetime) -> None:
    """Print the market context of a ZIP (5 digits) or a metro (its slug) in a month; with both,
    the metro is the ZIP's fallback for the published series."""
    if zip_code is None and metro is None:
        raise click.UsageError("name a region: --zip 98103 or --metro seattle")
    if zip_code is not None and not _ZIP.fullmatch(zip_code):
        raise click.BadParameter(f"{zip_code!r} is not a 5-digit ZIP code", param_hint="--zip")
    if metro is not None:
        try:
            get_metro(metro)
        except UnknownMetroError as exc:
            raise click.BadParameter(str(exc), param_hint="--metro") from exc
    day = month.date()
    ctx = _in_transaction(
        lambda s: service.market_context(s, zip_code=zip_code, metro=metro, month=day)
    )
    table = Table("indicator", "value")
    for k, v in ctx.items():
        table.add_row(k, f"{v:.6g}")
    console.print(table)
