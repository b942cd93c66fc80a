"""`aiqleads crawl` end to end: a local site is crawled, and what it served becomes leads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.ingestion.crawl.conftest import Site


def test_crawl_command_fetches_then_ingests_into_the_database(site: Site, tmp_path: Path) -> None:
    # Given a local Zillow-shaped search of three pages with two homes each
    state = json.dumps({"pagination": {}, "usersSearchTerm": "Seattle WA"})
    start = site.url(f"/search/GetSearchPageState.htm?searchQueryState={state}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update({"AIQ_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/c.db", "AIQ_LOG_JSON": "0"})
    aiq = [sys.executable, "-m", "aiqleads"]
    assert (
        subprocess.run([*aiq, "db", "upgrade"], env=env, cwd=tmp_path, check=False).returncode == 0
    )

    # When the operator crawls it, keeping the documents
    done = subprocess.run(
        [
            *aiq,
            "crawl",
            "zillow",
            "--start-url",
            start,
            "--out",
            str(tmp_path / "z.jsonl"),
            "--metro",
            "seattle",
            "--json",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # Then every page was fetched once and the file is kept; the site repeats the same two
    # street addresses on every page (under new listing ids), so two leads absorb the rest
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout[done.stdout.index("{") :])
    assert summary["read"] == 6
    assert (summary["created"], summary["merged"]) == (2, 4)
    assert summary["quarantined"] == 0
    pages = [p for p in site.paths() if p.startswith("/search/GetSearchPageState.htm")]
    assert len(pages) == 3
    assert len((tmp_path / "z.jsonl").read_text().splitlines()) == 3

    # And crawling again changes nothing (the HTTP cache may even spare the site)
    again = subprocess.run(
        [*aiq, "crawl", "zillow", "--start-url", start, "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout[again.stdout.index("{") :])
    assert second["created"] == second["merged"] == second["updated"] == 0
