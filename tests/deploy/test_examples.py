"""deploy/compose, deploy/systemd and deploy/pgbouncer: the examples docs/operations/scaling.md
points to. Each names only real `aiqleads` commands and options and real AIQ_ settings; the
systemd units pass `systemd-analyze verify` where systemd is installed."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from pydantic import BaseModel

from aiqleads.cli import main
from aiqleads.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
ENV_EXAMPLE = DEPLOY / "systemd" / "aiqleads.env.example"
INSTALLED = "/opt/aiqleads/bin/aiqleads"  # where the units expect the package's command


def check_command(args: list[str]) -> None:
    """Parse `aiqleads ARGS` as the CLI would, without running it: click.UsageError names an
    unknown command or option, or a bad value."""
    command: click.Command = main
    parent: click.Context | None = None
    name = "aiqleads"
    rest = list(args)
    # The groups on the way take no options of their own (but --help): the first word is the
    # sub-command's name.
    while isinstance(command, click.Group):
        ctx = click.Context(command, info_name=name, parent=parent)
        if not rest or (sub := command.get_command(ctx, rest[0])) is None:
            raise click.UsageError(f"{args}: no such command under {name}")
        command, parent, name, rest = sub, ctx, rest[0], rest[1:]
    command.make_context(name, rest, parent=parent)


def setting_exists(variable: str) -> bool:
    """Whether AIQ_A__B names Settings.a.b (pydantic-settings' prefix and nested delimiter)."""
    model: type[BaseModel] = Settings
    parts = variable.removeprefix("AIQ_").lower().split("__")
    for n, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if n < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def app_services() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, service in compose()["services"].items():
        if service.get("image") == "aiqleads":
            yield name, service


def test_check_command_refuses_what_the_cli_refuses() -> None:
    check_command(["serve", "--port", "8000", "--workers", "2"])
    with pytest.raises(click.UsageError):
        check_command(["serve", "--threads", "2"])
    with pytest.raises(click.UsageError):
        check_command(["db", "upgrade-all"])
    assert setting_exists("AIQ_WORKER__START_IN_APP")
    assert not setting_exists("AIQ_WORKER__START_IN_API")
    assert not setting_exists("AIQ_DATABASE_URL__HOST")


def test_compose_runs_the_api_worker_and_migration_with_real_commands() -> None:
    # Given the compose file, parsed
    services = dict(app_services())
    # Then it runs the migration, the API and the worker from the app's image
    commands = {name: service["command"] for name, service in services.items()}
    assert {"migrate", "api", "worker"} <= set(commands)
    assert commands["migrate"][:3] == ["aiqleads", "db", "upgrade"]
    assert commands["api"][:2] == ["aiqleads", "serve"]
    assert commands["worker"][:2] == ["aiqleads", "worker"]
    # And each command parses as the CLI parses it
    for command in commands.values():
        assert command[0] == "aiqleads"
        check_command(command[1:])


def test_compose_sets_only_real_settings() -> None:
    for name, service in app_services():
        variables = [k for k in service["environment"] if k.startswith("AIQ_")]
        assert "AIQ_DATABASE_URL" in variables, name
        unknown = [v for v in variables if not setting_exists(v)]
        assert unknown == [], f"{name}: not in Settings: {unknown}"


def test_the_api_waits_for_in_flight_requests_and_the_worker_for_its_tasks() -> None:
    services = dict(app_services())
    assert services["api"]["healthcheck"]["test"][-1].endswith("/ready')")
    # aiqleads worker gives running tasks 60 s (--worker-shutdown-timeout 60000)
    assert int(services["worker"]["stop_grace_period"].removesuffix("s")) > 60


def test_the_environment_example_names_only_real_settings() -> None:
    names = [
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert "AIQ_SECRET_KEY" in names and "AIQ_ENCRYPTION_KEYS" in names
    assert [n for n in names if not setting_exists(n)] == []


def _exec_lines(unit: Path, key: str) -> list[list[str]]:
    return [
        shlex.split(line.split("=", 1)[1])
        for line in unit.read_text().splitlines()
        if line.startswith(f"{key}=")
    ]


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_systemd_unit_runs_real_aiqleads_commands(unit: Path) -> None:
    # Given the unit's ExecStart (and ExecStartPre) lines
    lines = _exec_lines(unit, "ExecStart") + _exec_lines(unit, "ExecStartPre")
    assert _exec_lines(unit, "ExecStart"), unit
    # Then each runs the installed `aiqleads` with a command the CLI parses
    for line in lines:
        assert line[0] == INSTALLED, line
        check_command(line[1:])
    # And every setting it sets in Environment= is a real one
    for value in re.findall(r"^Environment=(AIQ_[A-Z_]+)=", unit.read_text(), re.MULTILINE):
        assert setting_exists(value), value


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_systemd_unit_passes_systemd_analyze_verify(unit: Path, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    # Given the unit with ExecStart pointing at this environment's `aiqleads`
    here = Path(sys.executable).with_name("aiqleads")
    if not here.exists():
        pytest.skip(f"no aiqleads command beside {sys.executable}")
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace(INSTALLED, str(here)))
    # Then systemd finds nothing wrong with it
    res = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert res.returncode == 0 and res.stderr.strip() == "", res.stderr


def test_pgbouncer_pools_transactions_and_tracks_prepared_statements() -> None:
    # asyncpg prepares every statement: transaction pooling needs PgBouncer to track them
    ini = (DEPLOY / "pgbouncer" / "pgbouncer.ini").read_text()
    settings = dict(
        (k.strip(), v.strip())
        for k, v in (line.split("=", 1) for line in ini.splitlines() if "=" in line)
        if not k.startswith(";")
    )
    assert settings["pool_mode"] == "transaction"
    assert int(settings["max_prepared_statements"]) > 0
    assert "plan_cache_mode" in settings["ignore_startup_parameters"]
    # And compose mounts the files it names
    pgbouncer = compose()["services"]["pgbouncer"]
    for volume in pgbouncer["volumes"]:
        assert (COMPOSE.parent / volume.split(":")[0]).resolve().exists(), volume
