"""`aiqleads train recommender`, `aiqleads models list|activate|rollback recommender`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from aiqleads.config import get_settings
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.kit.clock import SystemClock

MODEL_KINDS = click.Choice(["recommender"])


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _in_transaction(work: Any) -> Any:
    settings = get_settings()
    engine = create_engine(settings)
    try:
        async with transaction(session_factory(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


@click.command("recommender")
@click.option("--since", type=click.DateTime(), default=None, help="Window start (until − 90 d).")
@click.option("--until", type=click.DateTime(), default=None, help="Window end (now).")
@click.option("--artifacts", type=click.Path(path_type=Path), default=None)
@click.option("--version", "version", default=None, help="Default: lambdarank-<UTC time>.")
@click.option("--activate/--no-activate", default=True, show_default=True)
def train_recommender(
    since: datetime | None,
    until: datetime | None,
    artifacts: Path | None,
    version: str | None,
    activate: bool,
) -> None:
    """Train the LambdaRank recommender from the event log, register it and (by default) serve
    it: every API process loads it within AIQ_RECOMMEND__RELOAD_CHECK_SECONDS. Prints JSON."""
    from aiqleads.recommend import trainer

    settings = get_settings()
    now = SystemClock().now()
    end = _utc(until) if until else now
    start = _utc(since) if since else end - timedelta(days=90)
    folder = artifacts or Path(settings.recommend.artifacts)

    async def work(session: Any) -> dict[str, Any]:
        return await trainer.train_from_log(
            session,
            since=start,
            until=end,
            now=now,
            settings=settings.recommend,
            artifacts=folder,
            version=version,
            activate=activate,
        )

    try:
        result = asyncio.run(_in_transaction(work))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, indent=2, default=str))


@click.group()
def models() -> None:
    """The model registry: list, activate and roll back versions."""


@models.command("list")
@click.argument("kind", type=MODEL_KINDS)
def models_list(kind: str) -> None:
    """Every registered version, newest first, as JSON lines."""
    from aiqleads.recommend import repository

    for row in asyncio.run(_in_transaction(repository.listed_models)):
        click.echo(json.dumps(row, default=str))


@models.command("activate")
@click.argument("kind", type=MODEL_KINDS)
@click.argument("version")
def models_activate(kind: str, version: str) -> None:
    """Serve VERSION (every process within the reload interval)."""
    from aiqleads.recommend import repository

    now = SystemClock().now()

    async def work(session: Any) -> bool:
        return await repository.activate(session, version, now=now)

    if not asyncio.run(_in_transaction(work)):
        raise click.ClickException(f"no {kind} version {version!r} is registered")
    click.echo(f"{kind} {version} is serving")


@models.command("rollback")
@click.argument("kind", type=MODEL_KINDS)
def models_rollback(kind: str) -> None:
    """Take the serving version off and serve the one before it (the cold-start scorer when
    there is none)."""
    from aiqleads.recommend import repository

    now = SystemClock().now()

    async def work(session: Any) -> tuple[str | None, str | None]:
        return await repository.rollback(session, now=now)

    off, on = asyncio.run(_in_transaction(work))
    if off is None:
        raise click.ClickException(f"no {kind} version is serving: nothing to roll back")
    click.echo(f"{kind} {off} rolled back; now serving {on or 'the cold-start scorer'}")


def register(main: click.Group) -> None:
    """Add the commands: `recommender` under the existing `train` group, and `models`."""
    train = main.commands.get("train")
    if isinstance(train, click.Group):
        train.add_command(train_recommender)
    main.add_command(models)
