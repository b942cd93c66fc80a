"""`aiqleads train xeducation` on a file of X Education's shape, and `aiqleads score --all`."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from aiqleads.cli import main
from aiqleads.scoring import xeducation


def _leads_csv(path: Path, n: int) -> Path:
    """n made-up leads in Leads.csv's columns: conversion follows the time on the website."""
    rng = np.random.default_rng(0)
    header = [
        *xeducation.IDS,
        "Lead Origin",
        "Do Not Email",
        xeducation.LABEL,
        *xeducation.NUMERIC,
        "City",
        *xeducation.LEAKY,
        "",
    ]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(n):
            minutes = rng.exponential(500)
            converted = rng.random() < 1 / (1 + np.exp(-(minutes - 500) / 200))
            w.writerow(
                [
                    f"id-{i}",
                    i,
                    rng.choice(["API", "Landing Page Submission"]),
                    rng.choice(["Yes", "No"]),
                    int(converted),
                    int(rng.integers(0, 10)),
                    "" if i % 17 == 0 else int(minutes),
                    round(float(rng.uniform(0, 5)), 2),
                    rng.choice(["Mumbai", "Select", ""]),
                    *(["Closed by Horizzon" if converted else "Ringing"] * len(xeducation.LEAKY)),
                    "",
                ]
            )
    return path


def test_train_xeducation_prints_its_cross_validation_as_json(
    cli: CliRunner, tmp_path: Path
) -> None:
    # Given a file of X Education's shape (the real one is not in the repository)
    path = _leads_csv(tmp_path / "Leads.csv", 400)
    # When the check runs on it
    res = cli.invoke(main, ["train", "xeducation", str(path), "--plot", str(tmp_path / "r.png")])
    # Then it prints the model's and the logistic regression's held-out metrics
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["leads"] == 400 and report["folds"] == 5
    assert report["model"]["auc"] > 0.7 and report["logistic_regression"]["auc"] > 0.7
    assert "Tags" in report["left_out"]
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_train_xeducation_names_a_missing_file(cli: CliRunner, tmp_path: Path) -> None:
    res = cli.invoke(main, ["train", "xeducation", str(tmp_path / "none.csv")])
    assert res.exit_code != 0 and "no such file" in res.output


def test_train_xeducation_reads_the_file_gzipped_and_refuses_what_is_not_csv_text(
    tmp_path: Path,
) -> None:
    # Given Leads.csv as it is often passed on (gzipped), a spreadsheet's bytes and a cut archive
    plain = _leads_csv(tmp_path / "Leads.csv", 60)
    packed = tmp_path / "Leads.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    sheet = tmp_path / "Leads.xlsx"
    sheet.write_bytes(b"PK\x03\x04" + bytes(range(128, 256)))
    cut = tmp_path / "Leads.csv.gz.part"
    cut.write_bytes(packed.read_bytes()[:60])
    # When each is loaded
    # Then the gzipped file reads as the plain one
    unpacked, read = xeducation.load(packed), xeducation.load(plain)
    assert unpacked.names == read.names
    assert np.array_equal(unpacked.X, read.X, equal_nan=True)  # missing times are NaN
    # And the others are refused with the reason, which the command prints without a traceback
    for bad in (sheet, cut):
        with pytest.raises(ValueError, match="not readable as CSV text"):
            xeducation.load(bad)
        res = CliRunner().invoke(main, ["train", "xeducation", str(bad)])
        assert res.exit_code == 1 and "not readable as CSV text" in res.output, res.output


def test_score_all_without_a_model_says_so(cli: CliRunner) -> None:
    res = cli.invoke(main, ["score", "--all", "--features", "tests.scoring.provider:features"])
    assert res.exit_code == 1 and "no active scoring model" in res.output
    res = cli.invoke(main, ["score", "--all", "--features", "nowhere"])
    assert res.exit_code == 1 and "package.module:function" in res.output
    # And a batch of no leads is a usage error, not a traceback
    res = cli.invoke(main, ["score", "--all", "--batch", "0"])
    assert res.exit_code == 2 and "0 is not in the range x>=1" in res.output


def test_evaluate_scoring_says_why_it_cannot_run(cli: CliRunner) -> None:
    # Given an empty database: nothing to simulate a history of
    # When the simulator's holdout is asked for
    res = cli.invoke(main, ["evaluate", "scoring", "--agents", "2", "--days", "60"])
    # Then it refuses with a reason, not a traceback
    assert res.exit_code == 1, res.output
    assert "no simulated lead" in res.output
    # And a share outside (0, 1) is refused before anything runs
    bad = cli.invoke(main, ["evaluate", "scoring", "--train-share", "1"])
    assert bad.exit_code == 2 and "train-share" in bad.output
