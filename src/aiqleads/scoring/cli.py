"""`aiqleads train xeducation|scoring`, `aiqleads evaluate scoring` and `aiqleads score --all`
(registered by name in aiqleads.cli)."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from aiqleads.config import get_settings
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.kit.clock import SystemClock

if TYPE_CHECKING:
    from aiqleads.scoring import service

# LightGBM, scikit-learn and numpy are imported when a command runs, not when `aiqleads` starts.
_SHARED = "AIQLEADS_SHARED_DATA"
DEFAULT_PROVIDER = "aiqleads.scoring.tasks:lead_features"  # the "lead_market" set


def _default_leads_csv() -> Path:
    root = os.environ.get(_SHARED)
    base = Path(root).expanduser() if root else Path("..") / "shared" / "data"
    return base / "leads" / "Leads.csv"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@click.command("xeducation")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--plot", type=click.Path(path_type=Path), help="Also write a reliability PNG.")
def train_xeducation(path: Path | None, plot: Path | None) -> None:
    """Cross-validate the scoring pipeline on X Education's Leads.csv (default:
    $AIQLEADS_SHARED_DATA/leads/Leads.csv, else ../shared/data/leads/Leads.csv); print JSON."""
    from aiqleads.scoring import xeducation

    source = path or _default_leads_csv()
    if not source.is_file():
        raise click.ClickException(f"{source}: no such file (give PATH or set {_SHARED})")
    try:
        data = xeducation.load(source)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(xeducation.cross_validate(data, plot=plot), indent=2))


@click.command("scoring")
@click.option("--since", type=click.DateTime(), required=True, help="Label window start (UTC).")
@click.option("--until", type=click.DateTime(), default=None, help="Label window end (now).")
@click.option("--as-of", type=click.DateTime(), default=None, help="Features as of (--since).")
@click.option("--features", "provider", default=DEFAULT_PROVIDER, show_default=True)
@click.option("--feature-set", default="lead_market", show_default=True)
@click.option(
    "--feature-version",
    default=None,
    help="The provider's feature version (default: the lead_market set's).",
)
@click.option("--artifacts", type=click.Path(path_type=Path), default=Path("models"))
@click.option("--version", "version", default=None, help="Default: lgbm-<UTC timestamp>.")
@click.option("--activate/--no-activate", default=True, show_default=True)
def train_scoring(
    since: datetime,
    until: datetime | None,
    as_of: datetime | None,
    provider: str,
    feature_set: str,
    feature_version: str | None,
    artifacts: Path,
    version: str | None,
    activate: bool,
) -> None:
    """Label leads from the event log (a sale not returned within 30 days), take their
    features from the provider, train, save the artifact and register it; print JSON."""
    from aiqleads.features.lead_market import LEAD_MARKET_FEATURES_VERSION
    from aiqleads.scoring import service
    from aiqleads.scoring.model import TrainConfig

    if feature_version is None:
        feature_version = LEAD_MARKET_FEATURES_VERSION
    now = SystemClock().now()
    end = _utc(until) if until else now
    start = _utc(since)
    if end - start <= timedelta(days=30):
        raise click.ClickException("the label window must be longer than the 30-day return window")
    try:
        features = service.resolve_provider(provider)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc

    async def go() -> service.Trained:
        engine = create_engine(get_settings())
        try:
            return await service.train_from_log(
                session_factory(engine),
                features,
                since=start,
                until=end,
                as_of=_utc(as_of) if as_of else start,
                artifacts=artifacts,
                version=version or f"lgbm-{now:%Y%m%d%H%M%S}",
                now=now,
                feature_set=feature_set,
                feature_version=feature_version,
                config=TrainConfig(),
                activate=activate,
            )
        finally:
            await engine.dispose()

    try:
        trained = asyncio.run(go())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    meta = trained.model.meta
    click.echo(
        json.dumps(
            {
                "version": meta.version,
                "artifact": str(trained.path),
                "labelled": trained.labelled,
                "censored": trained.censored,
                "active": activate,
                "metrics": meta.metrics,
            },
            indent=2,
        )
    )


@click.command("score")
@click.option("--all", "everything", is_flag=True, required=True, help="Score every lead.")
@click.option("--features", "provider", default=DEFAULT_PROVIDER, show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=1000, show_default=True)
def score(everything: bool, provider: str, batch: int) -> None:
    """Score every lead with the active model, bucket each within its metro, price it, and
    store it all; print JSON (model version, leads scored, leads per bucket, distinct prices)."""
    from aiqleads.scoring import rescore, service
    from aiqleads.scoring.model import ArtifactError

    if not everything:
        raise click.ClickException("say --all: scoring a subset is not offered yet")
    try:
        features = service.resolve_provider(provider)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc

    settings = get_settings()

    async def go() -> rescore.Rescored:
        engine = create_engine(settings)
        try:
            return await rescore.rescore(
                session_factory(engine),
                features,
                now=SystemClock().now(),
                policy=settings.pricing,
                batch=batch,
            )
        finally:
            await engine.dispose()

    try:
        done = asyncio.run(go())
    except (LookupError, ArtifactError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        json.dumps(
            {
                "model_version": done.version,
                "scored": done.scored,
                "buckets": done.buckets,
                "distinct_prices": done.distinct_prices,
            }
        )
    )


@click.command("scoring")
@click.option("--agents", type=click.IntRange(min=1), default=36, show_default=True)
@click.option("--days", type=click.IntRange(min=38), default=240, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="First N leads by id.")
@click.option(
    "--train-share",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.5,
    show_default=True,
    help="Share of the decision period that trains.",
)
@click.option("--features", "provider", default=DEFAULT_PROVIDER, show_default=True)
@click.option("--plot", type=click.Path(path_type=Path), help="Write a reliability PNG.")
def evaluate_scoring(
    agents: int,
    days: int,
    seed: int,
    limit: int | None,
    train_share: float,
    provider: str,
    plot: Path | None,
) -> None:
    """Simulate a seeded history of the database's leads (aiqleads.scoring.simulator), train
    the scoring pipeline on the leads decided early and evaluate it on the later ones against
    the rules-1 baseline: AUC, log loss, ECE, a reliability plot, and the simulator's effects
    as the model learned them (aiqleads.scoring.holdout). The simulated history is rolled back:
    the database keeps nothing of it. Prints JSON."""
    from aiqleads.scoring import holdout, service

    try:
        features = service.resolve_provider(provider)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    now = SystemClock().now()

    async def go() -> holdout.HoldoutReport:
        engine = create_engine(get_settings())
        try:
            async with session_factory(engine)() as session:
                try:
                    return await holdout.simulate_and_evaluate(
                        session,
                        features,
                        now=now,
                        agents=agents,
                        days=days,
                        seed=seed,
                        limit=limit,
                        train_share=train_share,
                        plot=plot,
                    )
                finally:
                    await session.rollback()
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(go())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(report.as_dict(), indent=2))
