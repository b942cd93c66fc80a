"""`aiqleads sources report` and `baseline` on the test database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aiqleads.cli import main
from tests.sources.kc import NO_COORDINATES, kc_csv


@pytest.fixture
def cli(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AIQ_SOURCES__MIN_RECORDS", "20")
    return cli


def _ingest(cli: CliRunner, path: Path) -> None:
    res = cli.invoke(main, ["ingest", str(path), "--source", "king_county_sales", "--json"])
    assert res.exit_code == 0, res.output


def test_report_baseline_and_drift(cli: CliRunner, tmp_path: Path) -> None:
    # Given 50 sales ingested: the first report makes them the baseline
    first = tmp_path / "first.csv"
    first.write_text(kc_csv(0, 50))
    _ingest(cli, first)
    res = cli.invoke(main, ["sources", "report", "--json"])
    assert res.exit_code == 0, res.output
    [report] = json.loads(res.stdout)
    assert report["source"] == "king_county_sales" and report["baseline"] is not None
    assert report["latest"]["coverage"]["exact_location"] == 1.0
    # When 50 more come without coordinates (the same week: half the window's leads)
    second = tmp_path / "second.csv"
    second.write_text(kc_csv(50, 100, blank=NO_COORDINATES))
    _ingest(cli, second)
    # Then the report shows the drift and exits 3
    res = cli.invoke(main, ["sources", "report", "--source", "king_county_sales"])
    assert res.exit_code == 3, res.output
    assert "DRIFTED" in res.output and "zip_only" in res.output
    # And once the operator accepts it as the new baseline, the report is quiet again
    assert cli.invoke(main, ["sources", "baseline"]).exit_code == 0
    assert cli.invoke(main, ["sources", "report"]).exit_code == 0
