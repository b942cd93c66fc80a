"""`aiqleads train recommender`, `aiqleads models list|activate|rollback recommender`,
`aiqleads evaluate recommender`."""

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


@click.command("recommender")
@click.option("--agents", type=click.IntRange(1, 100_000), default=300, show_default=True)
@click.option("--days", type=click.IntRange(2, 365), default=30, show_default=True)
@click.option("--test-days", type=click.FloatRange(0.5, 100), default=6.0, show_default=True)
@click.option("--k", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--keep", is_flag=True, help="Commit the simulated agents and events.")
def evaluate_recommender(
    agents: int, days: int, test_days: float, k: int, seed: int, keep: bool
) -> None:
    """Simulate agents with hidden preferences over the leads in the database, split their
    history by time (the last --test-days days the test), and compare the learned LambdaRank
    model with the popularity, random and nearest-in-territory baselines: precision, recall,
    NDCG and hit rate at k, coverage, and the learned model's ratio to each. The simulation
    is rolled back afterwards unless --keep. Prints JSON."""
    from aiqleads.recommend import offline

    settings = get_settings()
    now = SystemClock().now()

    async def work() -> dict[str, Any]:
        engine = create_engine(settings)
        try:
            async with session_factory(engine)() as session:
                prefs = await offline.simulate(
                    session, agents=agents, days=days, seed=seed, now=now
                )
                report = await offline.evaluate_recommender(
                    session,
                    prefs=prefs,
                    days=days,
                    test_days=test_days,
                    now=now,
                    settings=settings.recommend,
                    k=k,
                    seed=seed,
                )
                await (session.commit() if keep else session.rollback())
                return report
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(work())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(report, indent=2, default=str))
