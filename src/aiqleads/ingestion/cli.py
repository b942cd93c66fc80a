"""`aiqleads ingest`, `aiqleads crawl` and `aiqleads quarantine` (registered in aiqleads.cli)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from aiqleads.config import Settings, get_settings
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.ingestion import quarantine as quarantine_service
from aiqleads.ingestion.crawl.documents import JsonlFormatError
from aiqleads.ingestion.documents import Document, from_crawl, from_files
from aiqleads.ingestion.mapping import MappingError, read_mapping, suggest
from aiqleads.ingestion.parsers.registry import UnknownSourceError, available_sources, get_parser
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.ingestion.summary import IngestSummary
from aiqleads.kit.clock import SystemClock
from aiqleads.metros import METROS, UnknownMetroError, get_metro

console = Console(stderr=True)  # progress and tables; stdout stays clean for --json
T = TypeVar("T")
CRAWL_SOURCES = ("craigslist", "zillow")
CSV_SOURCE = "csv"  # any CSV, through an operator's mapping


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        raise click.ClickException(f"invalid settings: {exc}") from None


def _check_source(source: str) -> None:
    try:
        get_parser(source)
    except UnknownSourceError as exc:
        raise click.BadParameter(str(exc), param_hint="'--source'") from None


def _check_metro(metro: str | None) -> None:
    if metro is not None:
        try:
            get_metro(metro)
        except UnknownMetroError as exc:
            raise click.BadParameter(str(exc), param_hint="'--metro'") from None


def _with_db(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    async def go() -> T:
        engine = create_engine(settings)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


class RowsPerSecond(ProgressColumn):
    """Rows per second over the run so far (rich's own speed is a short moving average)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} rows/s")


def ingest_documents(
    settings: Settings,
    documents: Iterable[Document],
    metro: str | None,
    *,
    source: str,
    quiet: bool,
    now: datetime | None = None,
) -> IngestSummary:
    """Run the pipeline of `settings` over the documents of `source` with a progress line
    (the run is recorded: `ingestion.runs`); `now` (default the clock's) is the instant the
    records are stamped with, and new leads are published at."""
    pipeline = Pipeline.from_settings(settings)
    at = now or SystemClock().now()
    columns = (
        SpinnerColumn(),
        TextColumn("ingesting: {task.completed:,.0f} rows"),
        RowsPerSecond(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=quiet) as bar:
        task = bar.add_task("ingest", total=None)

        async def work(sessions: Any) -> IngestSummary:
            return await pipeline.run(
                sessions,
                documents,
                metro=metro,
                now=at,
                progress=lambda n: bar.advance(task, n),
                source=source,
            )

        try:
            return _with_db(settings, work)
        except JsonlFormatError as exc:
            raise click.ClickException(str(exc)) from None


def _report(summary: IngestSummary, as_json: bool) -> None:
    data = summary.as_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    table = Table("read", "created", "updated", "unchanged", "merged", "quarantined", "seconds")
    table.add_row(
        *(str(data[k]) for k in ("read", "created", "updated", "unchanged", "merged")),
        str(data["quarantined"]),
        str(data["seconds"]),
    )
    console.print(table)
    if data["quarantined_by_reason"]:
        reasons = Table("quarantine reason", "records", title="quarantined")
        for reason, n in data["quarantined_by_reason"].items():
            reasons.add_row(reason, str(n))
        console.print(reasons)


@click.command()
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, readable=True, path_type=Path)
)
@click.option(
    "--source",
    required=True,
    help=f"Parser slug: {', '.join(available_sources())}; or csv with --mapping.",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="With --source csv: the TOML mapping of the file's columns (see `aiqleads csv suggest`).",
)
@click.option("--metro", default=None, help=f"Reject points outside: {', '.join(sorted(METROS))}.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def ingest(
    paths: tuple[Path, ...], source: str, mapping: Path | None, metro: str | None, as_json: bool
) -> None:
    """Ingest saved pages, feeds or CSV files (or folders of them) from one source."""
    parser = None
    if source == CSV_SOURCE:
        if mapping is None:
            hint = "'--mapping'"
            raise click.BadParameter("--source csv needs --mapping FILE.toml", param_hint=hint)
        try:
            parser = read_mapping(mapping).parser()
        except MappingError as exc:
            raise click.BadParameter(str(exc), param_hint="'--mapping'") from None
    elif mapping is not None:
        raise click.BadParameter("--mapping goes with --source csv", param_hint="'--mapping'")
    else:
        _check_source(source)
    _check_metro(metro)
    settings = _settings()
    documents = from_files(paths, source, parser)
    # A CSV read through a mapping is a run of the mapping's source, which its leads carry.
    name = parser.source if parser is not None else source
    _report(ingest_documents(settings, documents, metro, source=name, quiet=as_json), as_json)


@click.group("csv")
def csv_group() -> None:
    """CSV files an operator brings: mappings of their columns."""


@csv_group.command("suggest")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def csv_suggest(path: Path) -> None:
    """Print a starting mapping (TOML) for a CSV file, from its header (RESO Data Dictionary
    names and common synonyms): review it, save it, then `aiqleads ingest FILE --source csv
    --mapping FILE.toml`."""
    click.echo(suggest(path), nl=False)


@click.command()
@click.argument("source", type=click.Choice(CRAWL_SOURCES))
@click.option("--start-url", "start_urls", multiple=True, required=True, help="Repeatable.")
@click.option("--max-pages", type=click.IntRange(min=1), default=None)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Keep the crawled documents in this JSON-lines file.",
)
@click.option("--metro", default=None, help="Reject points outside this metro.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def crawl(
    source: str,
    start_urls: tuple[str, ...],
    max_pages: int | None,
    out: Path | None,
    metro: str | None,
    as_json: bool,
) -> None:
    """Crawl SOURCE (Scrapy, in its own process), then ingest what it fetched."""
    _check_metro(metro)
    settings = _settings()
    with tempfile.TemporaryDirectory(prefix="aiq-crawl-") as tmp:
        target = out or Path(tmp) / f"{source}.jsonl"
        command = [sys.executable, "-m", "aiqleads.ingestion.crawl", "--source", source]
        command += [arg for url in start_urls for arg in ("--start-url", url)]
        command += ["--out", str(target)]
        if max_pages is not None:
            command += ["--max-pages", str(max_pages)]
        # Scrapy's reactor cannot start twice in one process, hence the subprocess; its stats
        # JSON goes to our stderr so that stdout keeps only our own summary.
        done = subprocess.run(  # noqa: S603 (our own interpreter and module)
            command,
            stdout=subprocess.PIPE,
            text=True,
            timeout=settings.ingest.crawl_timeout_seconds,
            check=False,
        )
        if done.stdout.strip():
            console.print(f"crawl stats: {done.stdout.strip()}")
        if done.returncode != 0:
            raise click.ClickException(f"the crawl failed (exit code {done.returncode})")
        if not target.exists():
            console.print("the crawl fetched no documents")
            _report(IngestSummary(), as_json)
            return
        summary = ingest_documents(
            settings, from_crawl(target), metro, source=source, quiet=as_json
        )
        _report(summary, as_json)


@click.group()
def quarantine() -> None:
    """Records ingestion could not use, with the reasons."""


@quarantine.command("list")
@click.option("--source", default=None)
@click.option("--reason", default=None, help="A reason code, e.g. price_implausible.")
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved rows.")
@click.option("--limit", type=click.IntRange(min=1), default=None)
@click.option("--json", "as_json", is_flag=True)
def quarantine_list(
    source: str | None, reason: str | None, include_resolved: bool, limit: int | None, as_json: bool
) -> None:
    """List quarantined records (unresolved ones unless --all)."""

    async def work(sessions: Any) -> list[dict[str, Any]]:
        rows = await quarantine_service.list_rows(
            sessions, source=source, reason=reason, include_resolved=include_resolved, limit=limit
        )
        return [quarantine_service.as_dict(r) for r in rows]

    rows = _with_db(_settings(), work)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    # One line per row: every column but the detail keeps its full width, the detail is cut.
    cells = [
        (
            str(r["id"]),
            r["source"],
            r["source_ref"] or "",
            r["reason"],
            str(r["attempts"]),
            (r["reasons"][0] if r["reasons"] else "").removeprefix(f"{r['reason']}: "),
        )
        for r in rows
    ]
    table = Table(expand=True)
    for i, name in enumerate(("id", "source", "ref", "reason", "tries")):
        width = max([len(name), *(len(c[i]) for c in cells)])
        table.add_column(name, no_wrap=True, min_width=width)
    table.add_column("detail", no_wrap=True, overflow="ellipsis")
    for c in cells:
        table.add_row(*c)
    console.print(table)
    console.print(f"{len(rows)} rows")


@quarantine.command("retry")
@click.option("--source", default=None)
@click.option("--id", "row_id", type=int, default=None, help="One row.")
@click.option("--json", "as_json", is_flag=True)
def quarantine_retry(source: str | None, row_id: int | None, as_json: bool) -> None:
    """Run quarantined records through normalize → store again (after a fix)."""
    settings = _settings()
    pipeline = Pipeline.from_settings(settings)

    async def work(sessions: Any) -> dict[str, Any]:
        result = await quarantine_service.retry(
            sessions, pipeline, now=SystemClock().now(), source=source, row_id=row_id
        )
        return result.as_dict()

    result = _with_db(settings, work)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        console.print(
            f"retried {result['retried']}: {result['resolved']} resolved, "
            f"{result['still_failing']} still failing, {result['not_retryable']} not retryable "
            "(parser rejects and unreadable documents: re-ingest their files)"
        )


COMMANDS = (ingest, crawl, quarantine, csv_group)
