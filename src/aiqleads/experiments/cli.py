"""`aiqleads experiments create|start|stop|conclude|report|list`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import get_settings
from aiqleads.db.engine import run_in_transaction
from aiqleads.errors import AppError
from aiqleads.experiments import service
from aiqleads.experiments.schemas import ExperimentIn, ExperimentOut, ExperimentReport
from aiqleads.kit.clock import SystemClock

console = Console()
T = TypeVar("T")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    try:
        return run_in_transaction(get_settings(), work)
    except AppError as exc:
        detail = exc.detail.get("reason") if isinstance(exc.detail, dict) else None
        raise click.ClickException(exc.message + (f" ({detail})" if detail else "")) from exc


def _variant(text: str) -> dict[str, Any]:
    name, _, rest = text.partition(":")
    weight, _, config = rest.partition(":")
    try:
        return {
            "name": name,
            "weight": float(weight or "1"),
            "config": json.loads(config) if config else {},
        }
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r}: expected NAME[:WEIGHT[:CONFIG_JSON]], e.g. treatment:50:"
            '\'{"recommender": "cold-start-1"}\''
        ) from exc


def _print_experiment(found: ExperimentOut) -> None:
    console.print(
        f"[bold]{found.name}[/] ({found.surface}): {found.status}, salt {found.salt!r},"
        f" window {found.window_hours} h" + (f", winner {found.winner}" if found.winner else "")
    )
    for v in found.variants:
        console.print(f"  {v.name}: weight {v.weight:g} ({v.share:.1%}) config {v.config}")


@click.group()
def experiments() -> None:
    """A/B experiments: create, start, stop, conclude, report."""


@experiments.command("create")
@click.argument("name")
@click.option(
    "--variant",
    "variants",
    multiple=True,
    required=True,
    help="NAME[:WEIGHT[:CONFIG_JSON]], once per variant; the first is the control.",
)
@click.option("--salt", default=None, help="Seeds the assignment hash (default: the name).")
@click.option("--surface", default="recommendations", show_default=True)
@click.option("--window-hours", type=int, default=None, help="Outcome window after an exposure.")
def create_command(
    name: str, variants: tuple[str, ...], salt: str | None, surface: str, window_hours: int | None
) -> None:
    """Create a draft experiment NAME."""
    try:
        given = ExperimentIn.model_validate(
            {
                "name": name,
                "variants": [_variant(v) for v in variants],
                "salt": salt,
                "surface": surface,
                "window_hours": window_hours,
            }
        )
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()
        )
        raise click.ClickException(reasons) from exc
    now = SystemClock().now()
    settings = get_settings().experiments

    async def go(session: AsyncSession) -> ExperimentOut:
        return service.describe(await service.create(session, given, now=now, settings=settings))

    _print_experiment(_in_transaction(go))


def _move(action: str) -> Callable[[str], None]:
    def command(name: str) -> None:
        now = SystemClock().now()

        async def go(session: AsyncSession) -> ExperimentOut:
            if action == "start":
                return service.describe(await service.start(session, name, now=now))
            return service.describe(await service.stop(session, name, now=now))

        _print_experiment(_in_transaction(go))

    return command


experiments.command("start", help="Start experiment NAME (draft → running).")(
    click.argument("name")(_move("start"))
)
experiments.command("stop", help="Stop experiment NAME (running → stopped).")(
    click.argument("name")(_move("stop"))
)


@experiments.command("conclude")
@click.argument("name")
@click.option("--winner", default=None, help="The winning variant (default: none).")
def conclude_command(name: str, winner: str | None) -> None:
    """Conclude experiment NAME (running or stopped → concluded)."""
    now = SystemClock().now()

    async def go(session: AsyncSession) -> ExperimentOut:
        return service.describe(await service.conclude(session, name, winner=winner, now=now))

    _print_experiment(_in_transaction(go))


@experiments.command("list")
def list_command() -> None:
    """Every experiment, newest first."""

    async def go(session: AsyncSession) -> list[ExperimentOut]:
        return [service.describe(r) for r in await service.all_experiments(session)]

    for found in _in_transaction(go):
        _print_experiment(found)


@experiments.command("report")
@click.argument("name")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the report as a PNG chart to this file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def report_command(name: str, plot: Path | None, as_json: bool) -> None:
    """Per-variant rates, the difference from the control with its 95 % CI and p-value, the
    sample-ratio check and guardrails of experiment NAME."""
    now = SystemClock().now()
    settings = get_settings().experiments

    async def go(session: AsyncSession) -> ExperimentReport:
        return await service.report(session, name, now=now, settings=settings)

    found = _in_transaction(go)
    if plot is not None:
        from aiqleads.experiments import chart

        plot.write_bytes(chart.render(found))
    if as_json:
        click.echo(found.model_dump_json(indent=2))
    else:
        _print_report(found)
    if plot is not None and not as_json:
        console.print(f"chart: {plot}")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.2%}"


def _print_report(found: ExperimentReport) -> None:
    _print_experiment(found.experiment)
    table = Table(
        "variant", "agents", "exposures", "click", "hold", "purchase", "returns", "p95 ms"
    )
    for v in found.variants:
        table.add_row(
            v.name + (" (control)" if v.is_control else ""),
            str(v.agents),
            str(v.exposures),
            *(_pct(v.outcomes[m].rate) for m in ("click", "hold", "purchase")),
            _pct(v.return_rate),
            "–" if v.latency.p95_ms is None else f"{v.latency.p95_ms:.1f}",
        )
    console.print(table)
    if found.comparisons:
        diffs = Table(
            "variant",
            "outcome",
            "difference",
            "95 % CI",
            "lift",
            "p-value",
            "CUPED diff",
            "CUPED p",
            "per-list diff",
            "per-list p",
        )
        for c in found.comparisons:
            diffs.add_row(
                c.variant,
                c.metric,
                f"{c.difference:+.2%}",
                f"[{c.ci_low:+.2%}, {c.ci_high:+.2%}]",
                _pct(c.relative_lift),
                f"{c.p_value:.4g}" + (" *" if c.significant else ""),
                "–" if c.cuped is None else f"{c.cuped.difference:+.2%}",
                "–" if c.cuped is None else f"{c.cuped.p_value:.4g}",
                "–" if c.per_list is None else f"{c.per_list.difference:+.2%}",
                "–" if c.per_list is None else f"{c.per_list.p_value:.4g}",
            )
        console.print(diffs)
    srm = found.sample_ratio
    console.print(
        f"sample ratio: chi2 {srm.chi2:.3f}, p {srm.p_value:.4g}"
        + (" [red]MISMATCH[/]" if srm.flagged else " ok")
    )
    for g in found.guardrails:
        state = "[red]breached[/]" if g.breached else "ok"
        console.print(f"guardrail {g.name} ({g.variant}): {state}")
    for w in found.warnings:
        console.print(f"[yellow]{w}[/]")
