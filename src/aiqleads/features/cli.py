"""`aiqleads features …`: build the feature store."""

from __future__ import annotations

import asyncio
import time

import click
from rich.console import Console

from aiqleads.config import get_settings
from aiqleads.db.engine import create_engine, session_factory, transaction
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
            for name in feature_sets or service.FEATURE_SETS:
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
