"""`aiqleads features …`: build the feature store."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from aiqleads.config import get_settings
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.features import report as correlation_report
from aiqleads.features import service
from aiqleads.kit.clock import SystemClock

console = Console()


@click.group()
def features() -> None:
    """Features for scoring: build and keep them in the feature store."""


@features.command("build")
@click.option(
    "--set",
    "feature_sets",
    type=click.Choice(service.FEATURE_SETS),
    multiple=True,
    help="The feature set to build (repeatable; default: every set).",
)
def build(feature_sets: tuple[str, ...]) -> None:
    """Compute feature sets in batch and upsert them into `feature_values`."""

    async def go() -> list[tuple[service.BuildResult, float]]:
        settings = get_settings()
        engine = create_engine(settings)
        out = []
        try:
            # In the store's order whatever the order given: "lead_geo" before the sets reading it.
            for name in [n for n in service.FEATURE_SETS if not feature_sets or n in feature_sets]:
                started = time.perf_counter()
                async with transaction(session_factory(engine)) as session:
                    result = await service.build(
                        session, name, SystemClock().now(), settings=settings.features
                    )
                out.append((result, time.perf_counter() - started))
        finally:
            await engine.dispose()
        return out

    for result, seconds in asyncio.run(go()):
        console.print(
            f"{result.feature_set} v{result.version}: {result.entities} entities × "
            f"{result.features} features in {seconds:.1f} s"
        )


@features.command("report")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/reports/features"),
    show_default=True,
    help="Directory to write the CSV table and the PNG heatmap to (created when missing).",
)
def report(out_dir: Path) -> None:
    """Correlations (Spearman) between the leads' behaviour and their ZIP's market context."""

    async def go() -> correlation_report.Report:
        settings = get_settings()
        engine = create_engine(settings)
        try:
            async with transaction(session_factory(engine)) as session:
                return await correlation_report.build(
                    session, SystemClock().now(), out_dir, settings=settings.features
                )
        finally:
            await engine.dispose()

    result = asyncio.run(go())
    table = Table(
        "behaviour",
        "market",
        "n",
        "rho",
        "p-value",
        "status",
        title=f"Spearman's rho over {result.leads} leads",
    )
    for r in result.rows:
        table.add_row(
            r.behaviour,
            r.market.removeprefix("market_"),
            str(r.n),
            "" if r.rho is None else f"{r.rho:+.3f}",
            "" if r.p_value is None else f"{r.p_value:.3g}",
            r.status,
        )
    console.print(table)
    console.print(f"wrote {result.csv_path} and {result.png_path}")
