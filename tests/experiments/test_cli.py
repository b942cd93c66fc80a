"""`aiqleads experiments create|start|stop|conclude|list|report`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from aiqleads.cli import main


def test_an_operator_runs_an_experiment_from_the_command_line(
    cli: CliRunner, tmp_path: Path
) -> None:
    # When an operator creates an experiment with a config on its second variant
    res = cli.invoke(
        main,
        [
            "experiments",
            "create",
            "rec-cli",
            "--variant",
            "control:60",
            "--variant",
            'nearest:40:{"recommender": "cold-start-1"}',
            "--window-hours",
            "48",
        ],
    )
    # Then it is a draft with its shares
    assert res.exit_code == 0, res.output
    assert "draft" in res.output and "60.0%" in res.output and "nearest" in res.output
    # When it starts, and is reported with a chart
    assert cli.invoke(main, ["experiments", "start", "rec-cli"]).exit_code == 0
    chart = tmp_path / "rec.png"
    res = cli.invoke(main, ["experiments", "report", "rec-cli", "--json", "--plot", str(chart)])
    # Then the JSON report and the PNG are there
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["experiment"]["status"] == "running"
    assert [v["expected_share"] for v in report["variants"]] == [0.6, 0.4]
    assert report["warnings"] == ["no exposures yet: nothing to compare"]
    assert chart.read_bytes().startswith(b"\x89PNG")
    # And the table form prints too
    res = cli.invoke(main, ["experiments", "report", "rec-cli"])
    assert res.exit_code == 0 and "sample ratio" in res.output, res.output
    # When a bad move is asked for, the reason is said and the exit code is not 0
    res = cli.invoke(main, ["experiments", "conclude", "rec-cli", "--winner", "nope"])
    assert res.exit_code == 1 and "not a variant" in res.output, res.output
    assert cli.invoke(main, ["experiments", "stop", "rec-cli"]).exit_code == 0
    res = cli.invoke(main, ["experiments", "start", "rec-cli"])
    assert res.exit_code == 1 and "already_stopped" in res.output, res.output
    # And it concludes with a winner, and is listed so
    res = cli.invoke(main, ["experiments", "conclude", "rec-cli", "--winner", "nearest"])
    assert res.exit_code == 0, res.output
    res = cli.invoke(main, ["experiments", "list"])
    words = " ".join(res.output.split())  # rich wraps long lines at the terminal's width
    assert "concluded" in words and "winner nearest" in words, res.output


def test_a_malformed_variant_is_refused_with_its_shape(cli: CliRunner) -> None:
    res = cli.invoke(main, ["experiments", "create", "x", "--variant", "a:heavy", "--variant", "b"])
    assert res.exit_code == 2
    assert "NAME[:WEIGHT[:CONFIG_JSON]]" in res.output
    res = cli.invoke(main, ["experiments", "create", "x", "--variant", "a"])
    assert res.exit_code == 1 and "variants" in res.output, res.output
