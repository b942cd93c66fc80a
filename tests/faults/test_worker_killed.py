"""An ingest killed with SIGKILL in the middle of a file, then run again, ends with exactly what
one uninterrupted run stores: no lead, provenance row or price observation lost or doubled.
The file's resales (one parcel sold again, so one lead with two prices) straddle batches, so
the kill falls between a lead's first price and its second."""

from __future__ import annotations

import asyncio
import csv
import gzip
import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from aiqleads.db.databases import drop_database, recreate_database
from tests.conftest import _POSTGRES_URL, Backend
from tests.faults.servers import AIQLEADS, aiqleads, wait_until
from tests.live import server_env

KC_FILE = Path(__file__).resolve().parents[2] / "src/aiqleads/sample_data/kc_house_sales.csv.gz"
# Records per committed transaction: a small file still makes many batches, each above the
# size from which PostgreSQL writes go through COPY and a staging table (leads.writes).
BATCH = 60


def _resale_sample(path: Path, *, first: int = 800) -> Path:
    """The first sale of each parcel among the file's first `first` rows, then every resale of
    those parcels (so in a later batch), written as a CSV of the bundled file's columns."""
    with gzip.open(KC_FILE, "rt", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    seen: set[str] = set()
    head: list[list[str]] = []
    resales: list[list[str]] = []
    for row in body[:first]:
        (resales if row[0] in seen else head).append(row)
        seen.add(row[0])
    assert len(resales) >= 5, "the sample needs parcels sold twice"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *head, *resales])
    return path


def _stored(url: str) -> dict[str, Counter[tuple[object, ...]]]:
    """What a run leaves, keyed by source references (ids differ between databases)."""
    queries = {
        "leads": "SELECT source, source_ref, asking_price_cents, status FROM leads",
        "lead_sources": "SELECT source, source_ref, lead_id IS NOT NULL, asking_price_cents"
        " FROM lead_sources",
        "prices": "SELECT l.source, l.source_ref, h.source, h.asking_price_cents, h.currency"
        " FROM lead_price_history h JOIN leads l ON l.id = h.lead_id",
    }

    async def read() -> dict[str, Counter[tuple[object, ...]]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return {
                    name: Counter(tuple(row) for row in await conn.execute(text(sql)))
                    for name, sql in queries.items()
                }
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _leads(url: str) -> int:
    """How many leads are committed (0 while the schema is not there yet)."""

    async def count() -> int:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(text("SELECT count(*) FROM leads"))).scalar_one())
        finally:
            await engine.dispose()

    try:
        return asyncio.run(count())
    except SQLAlchemyError:
        return 0


@pytest.fixture
def database(backend: Backend, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """New empty databases on the run's backend, by name; dropped afterwards."""
    created: list[str] = []

    def make(name: str) -> str:
        if backend.name == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / name}.db"
        assert _POSTGRES_URL is not None
        created.append(f"aiq_faults_{name}_{uuid.uuid4().hex[:8]}")
        return asyncio.run(recreate_database(_POSTGRES_URL, created[-1]))

    yield make
    for name in created:
        assert _POSTGRES_URL is not None
        asyncio.run(drop_database(_POSTGRES_URL, name))


def test_an_ingest_killed_mid_file_then_rerun_stores_each_fact_once(
    tmp_path: Path, database: Callable[[str], str]
) -> None:
    sample = _resale_sample(tmp_path / "kc_sample.csv")
    args = ["ingest", str(sample), "--source", "king_county_sales", "--metro", "seattle", "--json"]

    def env(url: str) -> dict[str, str]:
        backend = Backend("", url, None)
        values = server_env(backend, AIQ_INGEST__BATCH_SIZE=str(BATCH))
        assert aiqleads(["db", "upgrade"], values, tmp_path).returncode == 0
        return values

    # Given what one uninterrupted run stores (in the background: the clean database and the
    # killed one share nothing, so the clean run goes on while the other is started and killed)
    clean_url = database("clean")
    with ThreadPoolExecutor(max_workers=1) as background:
        clean_run = background.submit(lambda: aiqleads(args, env(clean_url), tmp_path))

        # When the same ingest is killed with SIGKILL after some batches have been committed
        killed_url = database("killed")
        killed = env(killed_url)
        with (tmp_path / "killed.log").open("w") as log:
            proc = subprocess.Popen(
                AIQLEADS + args, env=killed, cwd=tmp_path, stdout=log, stderr=log
            )
            wait_until(lambda: _leads(killed_url) >= 3 * BATCH or proc.poll() is not None,
                       "three committed batches")  # fmt: skip
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        done = clean_run.result()
    assert done.returncode == 0, done.stderr
    expected = _stored(clean_url)
    assert expected["prices"] and max(Counter(k[:2] for k in expected["prices"]).values()) == 2

    # (it really was mid-file: part of the leads stored, its run still marked running)
    assert proc.returncode == -signal.SIGKILL
    assert 0 < _leads(killed_url) < sum(expected["leads"].values())
    # And it is run again to its end
    rerun = aiqleads(args, killed, tmp_path)
    assert rerun.returncode == 0, rerun.stderr

    # Then the database holds exactly what the uninterrupted run stored: every lead, every
    # source's row and every price observation once
    assert _stored(killed_url) == expected
    # And running the whole file once more (the kill now after its resales) adds nothing
    again = aiqleads(args, killed, tmp_path)
    assert again.returncode == 0, again.stderr
    assert _stored(killed_url) == expected
