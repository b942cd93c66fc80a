"""`aiqleads geo …`: maintenance of the stored geography of leads."""

from __future__ import annotations

import asyncio

import click

from aiqleads.config import get_settings
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.geo.stored_zcta import CHUNK, rederive_all
from aiqleads.kit.clock import SystemClock


@click.group()
def geo() -> None:
    """Stored geography of leads."""


@geo.command("rederive-zcta")
@click.option("--chunk", type=click.IntRange(min=1), default=CHUNK, show_default=True)
def rederive_zcta(chunk: int) -> None:
    """Derive every located lead's ZCTA again from its exact point (after the ZIP polygon
    files changed), in one transaction, CHUNK leads at a time; prints the changes per metro."""

    async def run() -> dict[str | None, int]:
        engine = create_engine(get_settings())
        try:
            found = await rederive_all(
                session_factory(engine), now=SystemClock().now(), chunk=chunk
            )
            return dict(found)
        finally:
            await engine.dispose()

    changed = asyncio.run(run())
    total = sum(changed.values())
    by_metro = ", ".join(
        f"{m or 'outside metros'}: {n}" for m, n in sorted(changed.items(), key=str)
    )
    click.echo(f"{total} leads changed ZCTA" + (f" ({by_metro})" if by_metro else ""))
