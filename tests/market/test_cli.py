"""`aiqleads market load`, `load-sample`, `compute` and `context` on the test database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aiqleads.cli import main
from tests.market.test_loaders import REDFIN_CUT, ZILLOW_BAD, ZIP_CUT
from tests.shared_data import fixture_path


def _load(cli: CliRunner, *args: str) -> dict[str, object]:
    res = cli.invoke(main, ["market", "load", *args, "--json"])
    assert res.exit_code == 0, res.output
    found: dict[str, object] = json.loads(res.output)
    return found


def test_load_prints_counts_and_reloads_without_duplicates(cli: CliRunner) -> None:
    # Given the Redfin cut loaded once
    first = _load(cli, str(fixture_path("market", REDFIN_CUT)), "--format", "redfin")
    assert first["rows"] == 40 and first["rejected"] == {}
    # When it is loaded again, the same values are written (updated, not added)
    assert _load(cli, str(fixture_path("market", REDFIN_CUT)), "--format", "redfin") == first
    # And a Zillow file with the measure given explicitly
    zillow = _load(cli, str(fixture_path("market", ZIP_CUT)), "--format", "zillow")
    assert zillow["rows"] == 5
    forced = _load(
        cli, str(fixture_path("market", ZIP_CUT)), "--format", "zillow", "--measure", "zhvi"
    )
    assert forced["written"] == zillow["written"]


def test_bad_rows_are_reported_with_reasons(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "zillow_Zip_zhvi_broken.csv"
    path.write_text(ZILLOW_BAD)
    res = cli.invoke(main, ["market", "load", str(path), "--format", "zillow"])
    assert res.exit_code == 0, res.output
    assert "missing region" in res.output and "non-numeric value" in res.output
    assert "bad date header" in res.output


def test_a_file_of_the_wrong_format_is_a_clear_error(cli: CliRunner) -> None:
    res = cli.invoke(
        main, ["market", "load", str(fixture_path("market", ZIP_CUT)), "--format", "redfin"]
    )
    assert res.exit_code == 1
    assert "not a Redfin market tracker" in res.output


def test_a_binary_file_or_an_unknown_measure_is_a_clear_error(
    cli: CliRunner, tmp_path: Path
) -> None:
    # Given a file of bytes that are no text, under a Zillow name
    path = tmp_path / "zillow_Zip_zhvi.csv"
    path.write_bytes(b"\xff\xfe\x00\x01\x8b\x00")
    # When it is loaded, the command says why and stores nothing (no traceback)
    res = cli.invoke(main, ["market", "load", str(path), "--format", "zillow"])
    assert res.exit_code == 1 and res.exception is not None
    assert isinstance(res.exception, SystemExit) and "not UTF-8 text" in res.output
    # And a measure other than zhvi or zori is a usage error
    zip_cut = str(fixture_path("market", ZIP_CUT))
    res = cli.invoke(main, ["market", "load", zip_cut, "--format", "zillow", "--measure", "foo"])
    assert res.exit_code == 2 and "'foo' is not one of 'zhvi', 'zori'" in res.output


def test_sample_compute_and_context(cli: CliRunner) -> None:
    res = cli.invoke(main, ["market", "load-sample"])
    assert res.exit_code == 0, res.output
    assert "zillow_Zip_zori_uc_sfrcondomfr_sm_month_seattle.csv" in res.output
    res = cli.invoke(main, ["market", "compute"])
    assert res.exit_code == 0, res.output
    res = cli.invoke(main, ["market", "context", "--metro", "seattle", "--month", "2021-11"])
    assert res.exit_code == 0, res.output
    assert "706964" in res.output  # Seattle's ZHVI in November 2021: the price level


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ([], "name a region: --zip 98103 or --metro seattle"),
        (["--zip", "abc"], "'abc' is not a 5-digit ZIP code"),
        (["--zip", "981030"], "'981030' is not a 5-digit ZIP code"),
        (["--metro", "nowhere"], "unknown metro 'nowhere'"),
    ],
)
def test_context_of_no_region_or_an_unknown_one_is_a_usage_error(
    cli: CliRunner, args: list[str], reason: str
) -> None:
    # When the context names no region, or one that cannot exist
    res = cli.invoke(main, ["market", "context", *args, "--month", "2021-11"])
    # Then the command refuses it with the reason (it printed the nation's context instead)
    assert res.exit_code == 2
    assert reason in " ".join(res.output.split())
