from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aiqleads.cli import main
from aiqleads.sample.sources import KING_COUNTY_SALES


@pytest.fixture
def cli(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AIQ_INGEST__BATCH_SIZE", "500")
    return cli


def _kc_slice(tmp_path: Path, n: int, *, bad_price: bool = False) -> Path:
    import gzip

    with gzip.open(KING_COUNTY_SALES, "rt", encoding="utf-8") as f:
        lines = [next(f) for _ in range(n + 1)]
    if bad_price:
        lines[1] = lines[1].replace(",221900,", ",30,")
    path = tmp_path / "kc.csv"
    path.write_text("".join(lines))
    return path


def test_ingest_prints_a_json_summary_and_a_rerun_changes_nothing(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = _kc_slice(tmp_path, 50, bad_price=True)
    args = ["ingest", str(path), "--source", "king_county_sales", "--metro", "seattle", "--json"]
    first = cli.invoke(main, args)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["read"] == 50 and summary["quarantined_by_reason"] == {"price_implausible": 1}
    assert summary["created"] + summary["merged"] == 49
    again = json.loads(cli.invoke(main, args).stdout)
    assert again["unchanged"] == 49 and again["created"] == 0
    listed = cli.invoke(main, ["quarantine", "list", "--reason", "price_implausible", "--json"])
    rows = json.loads(listed.stdout)
    assert [r["source_ref"] for r in rows] == ["7129300520:20141013T000000"]
    retry = cli.invoke(main, ["quarantine", "retry", "--json"])
    assert json.loads(retry.stdout)["still_failing"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "no/such/file.csv", "--source", "reso"], "does not exist"),
        (["ingest", "{file}", "--source", "nope"], "no parser for source 'nope'"),
        (["ingest", "{file}", "--source", "reso", "--metro", "atlantis"], "unknown metro"),
        (["crawl", "myspace", "--start-url", "http://x"], "Invalid value"),
    ],
)
def test_bad_arguments_give_a_clear_error_not_a_traceback(
    cli: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    path = _kc_slice(tmp_path, 1)
    result = cli.invoke(main, [a.replace("{file}", str(path)) for a in args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
