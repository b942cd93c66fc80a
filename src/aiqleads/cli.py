"""The `aiqleads` command."""

from __future__ import annotations

import asyncio
import importlib
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from aiqleads.auth.passwords import configure_hasher
from aiqleads.config import Environment, Settings, get_settings
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.kit.clock import SystemClock
from aiqleads.kit.crypto import generate_key
from aiqleads.models.enums import Role, Tier
from aiqleads.observability.logging import configure_logging

if TYPE_CHECKING:
    from aiqleads.worker import outbox

console = Console()
T = TypeVar("T")


def _settings() -> Settings:
    """The settings, with the password hasher set to their cost (commands that create accounts
    hash as the server does)."""
    settings = get_settings()
    configure_hasher(settings.login.hash_cost)
    return settings


def _run(make: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(make(_settings()))


# The commands that live in their domain's package, by name: "module:attribute". They are
# imported when named, not when `aiqleads` starts, so that `aiqleads serve` or `aiqleads db
# upgrade` do not pay for scipy, LightGBM and the crawler (several seconds on a cold start).
# A domain adds its command with one line here; `train` and `evaluate` gather one sub-command
# per model from several domains.
DOMAIN_COMMANDS: dict[str, str] = {
    "ingest": "aiqleads.ingestion.cli:ingest",
    "crawl": "aiqleads.ingestion.cli:crawl",
    "quarantine": "aiqleads.ingestion.cli:quarantine",
    "csv": "aiqleads.ingestion.cli:csv_group",
    "payments": "aiqleads.payments.cli:payments",
    "sources": "aiqleads.sources.cli:sources",
    "market": "aiqleads.market.cli:market",
    "score": "aiqleads.scoring.cli:score",
    "features": "aiqleads.features.cli:features",
    "experiments": "aiqleads.experiments.cli:experiments",
    "models": "aiqleads.recommend.cli:models",
    "geo": "aiqleads.geo.cli:geo",
}
TRAIN_COMMANDS: dict[str, str] = {
    "xeducation": "aiqleads.scoring.cli:train_xeducation",
    "scoring": "aiqleads.scoring.cli:train_scoring",
    "recommender": "aiqleads.recommend.cli:train_recommender",
}
EVALUATE_COMMANDS: dict[str, str] = {
    "scoring": "aiqleads.scoring.cli:evaluate_scoring",
    "recommender": "aiqleads.recommend.cli:evaluate_recommender",
}


class LazyGroup(click.Group):
    """A group of its own commands plus `lazy` ones ("module:attribute"), imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = self.lazy[cmd_name].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
        self.add_command(command, cmd_name)
        return command


@click.group(cls=LazyGroup, lazy=DOMAIN_COMMANDS)
@click.version_option(package_name="aiqleads")
def main() -> None:
    """AIQLeads: a marketplace for real-estate leads."""


@main.group(cls=LazyGroup, lazy=TRAIN_COMMANDS)
def train() -> None:
    """Train models: lead scoring (and its X Education check), the recommender."""


@main.group(cls=LazyGroup, lazy=EVALUATE_COMMANDS)
def evaluate() -> None:
    """Evaluate models against baselines on simulated histories."""


# --- serve -------------------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="Interface to bind (default AIQ_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default AIQ_PORT, 8000).")
@click.option("--workers", type=int, default=None, help="Worker processes (default AIQ_WORKERS).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the API and web UI with uvicorn."""
    _serve(get_settings(), host=host, port=port, workers=workers)


def _clear_metrics_dir(path: str) -> None:
    """A directory of worker metric files given by the operator: the files of a previous run
    would be added to this run's counts (prometheus-client asks for it to be wiped at start).
    Only its own files go: `counter_123.db`, `histogram_123.db`, `gauge_livesum_123.db`…"""
    from pathlib import Path

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for kind in ("counter", "gauge", "histogram", "summary"):
        for stale in folder.glob(f"{kind}_*.db"):
            stale.unlink(missing_ok=True)


def _serve(settings: Settings, *, host: str | None, port: int | None, workers: int | None) -> None:
    import uvicorn

    from aiqleads import listeners
    from aiqleads.one_write import OneWriteHttpToolsProtocol

    n = workers or settings.workers
    made_metrics_dir = None
    if n > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics here; /metrics adds them up. Removed when the
        # server stops (a directory the operator named is theirs, and stays).
        made_metrics_dir = tempfile.mkdtemp(prefix="aiq-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made_metrics_dir
    elif os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _clear_metrics_dir(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if n > 1 and settings.is_sqlite:
        console.print("[yellow]SQLite with several workers: writes are serialised.[/]")
    options: dict[str, Any] = {
        "factory": True,
        "host": host or settings.host,
        "port": port or settings.port,
        "workers": n,
        "log_level": settings.log_level.lower(),
        "access_log": False,
        "http": OneWriteHttpToolsProtocol,
        # No `Server: uvicorn` on every answer: it tells a scanner what to try, and is one
        # more header to validate and send per response.
        "server_header": False,
    }
    try:
        if n == 1 or not listeners.SUPPORTED:
            uvicorn.run("aiqleads.app:create_served_app", **options)
        else:
            listeners.serve(uvicorn.Config("aiqleads.app:create_served_app", **options))
    finally:
        if made_metrics_dir is not None:
            shutil.rmtree(made_metrics_dir, ignore_errors=True)


# --- db ----------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database migrations."""


async def _migrate_and_report(settings: Settings, step: str, revision: str) -> None:
    # Alembic is imported by the commands that migrate (0.3-0.4 s of every other start).
    from aiqleads.db import migrate

    engine = create_engine(settings)
    try:
        if step == "upgrade":
            await migrate.upgrade(engine, revision)
        elif step == "downgrade":
            await migrate.downgrade(engine, revision)
        current = await migrate.current_revision(engine)
        console.print(f"current: {current}  head: {migrate.head_revision()}")
    finally:
        await engine.dispose()


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    _run(lambda settings: _migrate_and_report(settings, "upgrade", revision))


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ("base" empties it)."""
    _run(lambda settings: _migrate_and_report(settings, "downgrade", revision))


@db.command("current")
def db_current() -> None:
    """Print the database's migration revision."""
    _run(lambda settings: _migrate_and_report(settings, "report", ""))


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(path: Path) -> None:
    """Write a consistent copy of the database to PATH while it runs (SQLite: the online
    backup API; PostgreSQL: pg_dump's custom format)."""
    from aiqleads.db.backup import BackupError, backup

    try:
        result = backup(get_settings(), path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"backed up to {result.path} ({result.kind}, {result.bytes:,} bytes)")


@db.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: the database's content is replaced.")
def db_restore(path: Path, yes: bool) -> None:
    """Replace the database's content with the backup at PATH (made by `db backup`). Stop the
    API and workers first."""
    from aiqleads.db.backup import BackupError, restore

    if not yes:
        click.confirm("Replace everything in the database with this backup?", abort=True)
    try:
        result = restore(get_settings(), path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"restored from {result.path} ({result.kind})")


@main.group()
def keys() -> None:
    """Encryption keys (AIQ_ENCRYPTION_KEYS)."""


@keys.command("rotate")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def keys_rotate(batch_size: int, as_json: bool) -> None:
    """Re-encrypt every encrypted value (owner contact, quarantined payloads, webhook
    secrets) under the first key of AIQ_ENCRYPTION_KEYS. Resumable: run it again after an
    interruption; values already under the first key are skipped."""
    import json

    from aiqleads.keyring import rotate
    from aiqleads.kit.crypto import FieldCipher, KeyringError

    async def go(settings: Settings) -> dict[str, Any]:
        engine = create_engine(settings)
        try:
            cipher = FieldCipher(settings.encryption_keys)
            report = await rotate(session_factory(engine), cipher, batch_size=batch_size)
            return {"key_id": cipher.primary_key_id, **report.as_dict()}
        finally:
            await engine.dispose()

    try:
        out = _run(go)
    except KeyringError as exc:
        message = f"{exc}: add that key to AIQ_ENCRYPTION_KEYS and run again"
        raise click.ClickException(message) from exc
    if as_json:
        click.echo(json.dumps(out))
        return
    for table, n in out["rewritten"].items():
        console.print(
            f"{table}: {n} of {out['read'][table]} rows re-encrypted under {out['key_id']}"
        )


# --- users -------------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Accounts."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.AGENT.value)
@click.option("--tier", type=click.Choice([t.value for t in Tier]), default=Tier.BASIC.value)
@click.option("--cart-limit", type=int, default=None, help="Custom cart limit (enterprise only).")
def users_create(email: str, password: str, role: str, tier: str, cart_limit: int | None) -> None:
    """Create an account."""
    from aiqleads.auth import service
    from aiqleads.errors import AppError

    async def go(settings: Settings) -> None:
        engine = create_engine(settings)
        try:
            async with transaction(session_factory(engine)) as session:
                account = await service.create_account(
                    session,
                    email=email,
                    password=password,
                    role=Role(role),
                    tier=Tier(tier),
                    now=SystemClock().now(),
                    custom_cart_limit=cart_limit,
                    min_score=settings.login.password_min_score,
                )
            console.print(f"created {account.email} ({account.role}, {account.tier})")
        finally:
            await engine.dispose()

    try:
        _run(go)
    except AppError as exc:
        raise click.ClickException(exc.message) from exc


@users.command("list")
def users_list() -> None:
    """List accounts."""
    from aiqleads.auth import repository

    async def go(settings: Settings) -> None:
        engine = create_engine(settings)
        try:
            async with transaction(session_factory(engine)) as session:
                table = Table("email", "role", "tier", "cart limit", "active")
                for a in await repository.list_accounts(session):
                    table.add_row(
                        a.email,
                        a.role,
                        a.tier,
                        str(a.custom_cart_limit or ""),
                        "yes" if a.is_active else "no",
                    )
            console.print(table)
        finally:
            await engine.dispose()

    _run(go)


# --- keys --------------------------------------------------------------------------------------


@main.command("generate-key")
@click.argument("key_id")
def generate_encryption_key(key_id: str) -> None:
    """Print a new encryption key for AIQ_ENCRYPTION_KEYS (put it first to rotate)."""
    click.echo(generate_key(key_id))


# --- demo --------------------------------------------------------------------------------------

DEMO_ACCOUNTS = (
    ("admin@example.com", Role.ADMIN, Tier.ENTERPRISE),
    ("basic@example.com", Role.AGENT, Tier.BASIC),
    ("pro@example.com", Role.AGENT, Tier.PRO),
    ("enterprise@example.com", Role.AGENT, Tier.ENTERPRISE),
)


@main.command()
@click.option("--serve/--no-serve", "do_serve", default=True, help="Serve after setting up.")
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
def demo(do_serve: bool, host: str | None, port: int | None) -> None:
    """Migrate; on an empty database, ingest the bundled Seattle sources through the pipeline;
    create demo accounts; serve."""
    settings = _settings()
    if settings.env is Environment.PRODUCTION:
        raise click.ClickException(
            "demo creates accounts with printed passwords: not in production"
        )
    started = time.perf_counter()
    if asyncio.run(_migrate_and_count_leads(settings)) == 0:
        _ingest_bundled_sources(settings)
        asyncio.run(_demo_history(settings))
    else:
        console.print("leads present: sample not reloaded")
    credentials = asyncio.run(_demo_accounts(settings))
    table = Table(
        "e-mail", "password", "role", "tier", title="Demo accounts (passwords are new each run)"
    )
    for email, password, role, tier in credentials:
        table.add_row(email, password, role, tier)
    console.print(table)
    console.print(f"demo ready in {time.perf_counter() - started:.1f} s")
    url = f"http://{host or settings.host}:{port or settings.port}"
    if do_serve:
        console.print(f"AIQLeads at [bold]{url}[/]  (API docs at {url}/docs)")
        _serve(settings, host=host, port=port, workers=1)


async def _migrate_and_count_leads(settings: Settings) -> int:
    from aiqleads.db import migrate
    from aiqleads.leads import repository as leads

    engine = create_engine(settings)
    try:
        await migrate.upgrade(engine)
        console.print(f"database migrated ({engine.dialect.name})")
        async with transaction(session_factory(engine)) as session:
            return await leads.count(session)
    finally:
        await engine.dispose()


_DEMO_COUNTS = ("read", "created", "updated", "merged", "unchanged", "quarantined", "seconds")


def _ingest_bundled_sources(settings: Settings) -> None:
    """Each bundled source through `aiqleads ingest`'s own code path, with the demo's stages."""
    from aiqleads.ingestion.cli import ingest_documents
    from aiqleads.ingestion.documents import from_files
    from aiqleads.ingestion.stages.demo_owners import NOTE
    from aiqleads.sample.sources import DEMO_METRO, DEMO_SOURCES, demo_publication, demo_settings

    tuned = demo_settings(settings)
    as_of = demo_publication(tuned, SystemClock().now())
    console.print(f"ingesting the bundled sources, stages: {' → '.join(tuned.ingest.stages)}")
    columns: list[list[str]] = []
    for source in DEMO_SOURCES:
        console.print(f"{source.slug}: {', '.join(p.name for p in source.paths)}")
        documents = from_files(source.paths, source.slug)
        summary = ingest_documents(
            tuned, documents, DEMO_METRO, source=source.slug, quiet=False, now=as_of
        )
        data = summary.as_dict()
        columns.append([*(str(data[k]) for k in _DEMO_COUNTS), str(summary.notes[NOTE])])
    # One column per source, so that the table fits an 80-column terminal.
    table = Table("", *(s.slug for s in DEMO_SOURCES), title=f"ingested (metro {DEMO_METRO})")
    for n, name in enumerate([*_DEMO_COUNTS, "fictional owners"]):
        table.add_row(name, *(column[n] for column in columns))
    console.print(table)
    console.print("quarantined records and their reasons: aiqleads quarantine list")
    console.print(
        f"the sample is published as of {as_of:%Y-%m-%d %H:%M} UTC, past every tier's priority"
        " window, so every agent sees it at once"
    )


async def _demo_history(settings: Settings) -> None:
    """The demo's market history, model and scores (aiqleads.sample.history)."""
    from aiqleads.leads.scores import BUCKET_LABELS
    from aiqleads.sample.history import make_history

    console.print("giving the demo a past: market series, simulated agents, a scoring model")
    engine = create_engine(settings)
    try:
        done = await make_history(
            session_factory(engine),
            settings,
            now=SystemClock().now(),
            artifacts=Path("var") / "models",
        )
    finally:
        await engine.dispose()
    buckets = ", ".join(f"{BUCKET_LABELS[b]} {n}" for b, n in sorted(done.scored.buckets.items()))
    console.print(
        f"market series values: {done.series_loaded}; simulated agents: {done.agents}, "
        f"events: {done.events}; leads bought: {done.purchases} in {done.orders} orders; "
        f"model {done.model_version} trained on {done.labelled} leads "
        f"(out-of-fold AUC {done.auc:.3f}); {done.scored.scored} leads scored ({buckets}), "
        f"{done.scored.distinct_prices} distinct prices"
    )


async def _demo_accounts(settings: Settings) -> list[tuple[str, str, str, str]]:
    """The demo accounts, created or given new passwords: (e-mail, password, role, tier)."""
    from aiqleads.auth import repository as accounts
    from aiqleads.auth import service
    from aiqleads.auth.passwords import hash_password

    engine = create_engine(settings)
    now = SystemClock().now()
    try:
        out = []
        async with transaction(session_factory(engine)) as session:
            for email, role, tier in DEMO_ACCOUNTS:
                password = secrets.token_urlsafe(12)
                account = await accounts.account_by_email(session, email)
                if account is None:
                    await service.create_account(
                        session, email=email, password=password, role=role, tier=tier, now=now
                    )
                else:
                    account.password_hash = hash_password(password)
                out.append((email, password, role.value, tier.value))
        return out
    finally:
        await engine.dispose()


# --- background work ---------------------------------------------------------------------------


@main.command()
@click.option(
    "--processes",
    type=int,
    default=None,
    help="Dramatiq worker processes (default AIQ_WORKER__PROCESSES, 1).",
)
@click.option(
    "--threads",
    type=int,
    default=None,
    help="Worker threads per process (default AIQ_WORKER__THREADS, 8).",
)
@click.option(
    "--schedule/--no-schedule", default=True, help="Also enqueue the periodic tasks (default: yes)."
)
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve the workers' /metrics on this port (default AIQ_WORKER__METRICS_PORT; 0: off).",
)
def worker(
    processes: int | None, threads: int | None, schedule: bool, metrics_port: int | None
) -> None:
    """Run background tasks until SIGTERM or Ctrl-C, at a CPU priority lowered by
    AIQ_WORKER__NICE (10).

    With AIQ_REDIS_URL: Dramatiq worker processes on the Redis broker for every registered task,
    plus one process that relays the task outbox to the broker and enqueues the periodic tasks
    (the hold sweeper). Without it: the same tasks in this process (for deployments that run
    the API with AIQ_WORKER__START_IN_APP=false)."""
    if not schedule:
        os.environ["AIQ_WORKER__SCHEDULE"] = "false"
    if metrics_port is not None:
        os.environ["AIQ_WORKER__METRICS_PORT"] = str(metrics_port)
    get_settings.cache_clear()  # the worker processes read the settings given here
    settings = get_settings()
    if settings.worker.nice:
        # Before Dramatiq forks its processes: each inherits the lower priority.
        os.nice(settings.worker.nice)
    if settings.worker_backend == "embedded":
        asyncio.run(_embedded_worker(settings))
        return
    import dramatiq.cli

    if settings.worker.metrics_port and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="aiq-worker-metrics-")
    args = dramatiq.cli.make_argument_parser().parse_args(  # type: ignore[no-untyped-call]
        [
            "aiqleads.worker.dramatiq_main:broker",
            "--processes",
            str(processes or settings.worker.processes),
            "--threads",
            str(threads or settings.worker.threads),
            "--fork-function",
            "aiqleads.worker.dramatiq_main:run_dispatcher",
            "--worker-shutdown-timeout",
            "60000",
        ]
    )
    raise SystemExit(dramatiq.cli.main(args))  # type: ignore[no-untyped-call]


async def _embedded_worker(settings: Settings) -> None:
    import signal

    from aiqleads.worker.context import build_context
    from aiqleads.worker.dispatcher import Dispatcher

    configure_logging(settings.log_level, json_lines=settings.log_json)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ctx = build_context(settings)
    dispatcher = Dispatcher(ctx, mode="run", schedule=settings.worker.schedule)
    dispatcher.start()
    console.print("running tasks in this process (no AIQ_REDIS_URL); Ctrl-C stops")
    try:
        await stop.wait()
    finally:
        await dispatcher.stop()
        await ctx.aclose()


@main.group()
def tasks() -> None:
    """Background tasks: dead letters, retry, ping."""


@tasks.command("dead")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def tasks_dead(limit: int, as_json: bool) -> None:
    """Tasks that failed past their retries, most recent first."""
    import json

    from aiqleads.worker import outbox

    async def go(settings: Settings) -> list[outbox.Dead]:
        engine = create_engine(settings)
        try:
            async with transaction(session_factory(engine)) as session:
                return await outbox.dead(session, limit=limit)
        finally:
            await engine.dispose()

    found = _run(go)
    if as_json:
        for d in found:
            click.echo(json.dumps(_dead_dict(d)))
        return
    table = Table("id", "task", "arguments", "attempts", "failed at", "last error")
    for d in found:
        table.add_row(
            str(d.id),
            d.task,
            json.dumps({"args": d.args, "kwargs": d.kwargs}),
            str(d.attempts),
            str(d.failed_at or ""),
            d.last_error or "",
        )
    console.print(table)


def _dead_dict(d: outbox.Dead) -> dict[str, Any]:
    return {
        "id": d.id,
        "task": d.task,
        "args": d.args,
        "kwargs": d.kwargs,
        "attempts": d.attempts,
        "failed_at": d.failed_at.isoformat() if d.failed_at else None,
        "last_error": d.last_error,
    }


@tasks.command("retry")
@click.argument("task_id", type=int)
def tasks_retry(task_id: int) -> None:
    """Run a dead task again (its attempts start from zero)."""
    from aiqleads.worker import outbox

    async def go(settings: Settings) -> bool:
        engine = create_engine(settings)
        try:
            async with transaction(session_factory(engine)) as session:
                return await outbox.revive(session, task_id)
        finally:
            await engine.dispose()

    if not _run(go):
        raise click.ClickException(f"no dead task with id {task_id}")
    console.print(f"task {task_id} queued again")


@tasks.command("ping")
@click.option("--note", default="", help="Logged by the worker that runs it.")
def tasks_ping(note: str) -> None:
    """Enqueue `worker.ping`: a running worker logs "pong" and removes it from the outbox."""
    from aiqleads.worker.builtin import ping

    async def go(settings: Settings) -> int:
        engine = create_engine(settings)
        try:
            async with transaction(session_factory(engine)) as session:
                return await ping.enqueue(session, note=note)
        finally:
            await engine.dispose()

    console.print(f"enqueued worker.ping as task {_run(go)}")


if __name__ == "__main__":
    main()
