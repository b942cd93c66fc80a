"""The operators' record of ingestion runs: GET /api/v1/admin/ingestion/runs and one run, for
admins only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.factories import admin, agent
from tests.ingestion.conftest import kc_document, kc_lines

from aiqleads.cli import main
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.kit.clock import FrozenClock

URL = "/api/v1/admin/ingestion/runs"
Sessions = async_sessionmaker[AsyncSession]


async def test_admins_page_through_runs_newest_first_and_filter_by_source(
    client: httpx.AsyncClient,
    sessions: Sessions,
    make_pipeline: Callable[..., Pipeline],
    clock: FrozenClock,
) -> None:
    # Given three runs of King County sales and one of a RESO feed
    pipeline = make_pipeline()
    for n in (3, 4, 5):
        await pipeline.run(sessions, [kc_document(n)], metro="seattle", now=clock.now())
    reso = Document("reso.json", "reso", b'{"value": []}')
    await pipeline.run(sessions, [reso], metro=None, now=clock.now())
    headers = await admin(client, sessions, clock)
    # When an admin lists them two at a time
    first = await client.get(URL, params={"limit": 2}, headers=headers)
    assert first.status_code == 200, first.text
    page = first.json()
    # Then the newest come first, and the cursor leads to the older ones, then to none
    assert [(r["source"], r["read"]) for r in page["items"]] == [
        ("reso", 0),
        ("king_county_sales", 5),
    ]
    rest = await client.get(
        URL, params={"limit": 2, "before": page["next_before"]}, headers=headers
    )
    assert [r["read"] for r in rest.json()["items"]] == [4, 3]
    assert rest.json()["next_before"] is None
    # And a source's runs are its own
    kc = (await client.get(URL, params={"source": "king_county_sales"}, headers=headers)).json()
    assert [r["read"] for r in kc["items"]] == [5, 4, 3] and kc["next_before"] is None
    # And one run reads the same alone, finished, with its duration
    one = await client.get(f"{URL}/{kc['items'][0]['id']}", headers=headers)
    assert one.status_code == 200
    assert one.json() == kc["items"][0]
    assert one.json()["outcome"] == "succeeded" and one.json()["seconds"] == 0.0
    assert (await client.get(f"{URL}/999999", headers=headers)).status_code == 404
    # And bad parameters are named
    bad = await client.get(URL, params={"limit": 0, "outcome": "maybe"}, headers=headers)
    assert bad.status_code == 422


async def test_a_failed_run_is_listed_with_its_error(
    client: httpx.AsyncClient,
    sessions: Sessions,
    make_pipeline: Callable[..., Pipeline],
    clock: FrozenClock,
) -> None:
    # Given a run that fails after two batches of two: its next document cannot be reached
    def broken() -> Iterator[Document]:
        yield kc_document(4)
        raise OSError("the share went away")

    with pytest.raises(OSError, match="went away"):
        await make_pipeline(batch_size=2).run(sessions, broken(), metro=None, now=clock.now())
    headers = await admin(client, sessions, clock)
    # When an admin lists the failed runs
    page = (await client.get(URL, params={"outcome": "failed"}, headers=headers)).json()
    # Then it is there, with the error and the counts of the batches committed before it
    [run] = page["items"]
    assert (run["outcome"], run["error_class"]) == ("failed", "OSError")
    assert run["error_message"] == "the share went away"
    assert run["finished_at"] is not None
    assert run["created"] + run["merged"] == 4
    assert (await client.get(URL, params={"outcome": "running"}, headers=headers)).json() == {
        "items": [],
        "next_before": None,
    }


@pytest.fixture
def cli(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AIQ_INGEST__BATCH_SIZE", "20")
    return cli


async def test_a_runs_counts_are_the_summary_aiqleads_ingest_printed(
    cli: CliRunner,
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    # Given 60 King County sales, two with an implausible price, ingested by the command
    lines = kc_lines(60)
    for n in (1, 2):
        cells = lines[n].split(",")
        cells[2] = "30"  # the price column
        lines[n] = ",".join(cells)
    path = tmp_path / "kc.csv"
    path.write_text("".join(lines))
    args = ["ingest", str(path), "--source", "king_county_sales", "--metro", "seattle", "--json"]
    done = await asyncio.to_thread(cli.invoke, main, args)
    assert done.exit_code == 0, done.output
    printed = json.loads(done.stdout)
    assert printed["quarantined_by_reason"] == {"price_implausible": 2}
    # When an admin looks at the run
    headers = await admin(client, sessions, clock)
    [run] = (await client.get(URL, headers=headers)).json()["items"]
    # Then its counts are the ones printed
    for name in ("documents", "read", "created", "updated", "unchanged", "merged", "quarantined"):
        assert run[name] == printed[name], name
    assert run["quarantined_by_reason"] == printed["quarantined_by_reason"]
    assert run["notes"] == printed["notes"]
    assert {k: v["records"] for k, v in run["stages"].items()} == {
        k: v["records"] for k, v in printed["stages"].items()
    }
    assert (run["source"], run["metro"], run["outcome"]) == (
        "king_county_sales",
        "seattle",
        "succeeded",
    )


async def test_agents_may_not_see_the_runs(
    client: httpx.AsyncClient, sessions: Sessions, clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock)
    assert (await client.get(URL, headers=headers)).status_code == 403
    assert (await client.get(f"{URL}/1", headers=headers)).status_code == 403
    assert (await client.get(URL)).status_code == 401
