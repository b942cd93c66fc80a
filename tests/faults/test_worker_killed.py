"""An ingest killed with SIGKILL in the middle of a file, then run again, ends with exactly what
one uninterrupted run stores: no lead, provenance row or price observation lost or doubled.
The file's resales (one parcel sold again, so one lead with two prices) straddle batches, so
the kill falls between a lead's first price and its second."""

from __future__ import annotations

import csv
import gzip
import signal
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path

from tests.conftest import Backend
from tests.faults.servers import AIQLEADS, aiqleads, wait_until
from tests.live import server_env

KC_FILE = Path(__file__).resolve().parents[2] / "src/aiqleads/sample_data/kc_house_sales.csv.gz"
BATCH = 50  # records per committed transaction: a small file still makes many batches


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


def _stored(db: Path) -> dict[str, Counter[tuple[object, ...]]]:
    """What a run leaves, keyed by source references (ids differ between databases)."""
    queries = {
        "leads": "SELECT source, source_ref, asking_price_cents, status FROM leads",
        "lead_sources": "SELECT source, source_ref, lead_id IS NOT NULL, asking_price_cents"
        " FROM lead_sources",
        "prices": "SELECT l.source, l.source_ref, h.source, h.asking_price_cents, h.currency"
        " FROM lead_price_history h JOIN leads l ON l.id = h.lead_id",
    }
    with sqlite3.connect(db) as conn:
        return {name: Counter(conn.execute(sql).fetchall()) for name, sql in queries.items()}


def _count(db: Path, table: str) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
    except sqlite3.Error:
        return 0


def test_an_ingest_killed_mid_file_then_rerun_stores_each_fact_once(tmp_path: Path) -> None:
    sample = _resale_sample(tmp_path / "kc_sample.csv")
    args = ["ingest", str(sample), "--source", "king_county_sales", "--metro", "seattle", "--json"]

    def env(name: str) -> dict[str, str]:
        backend = Backend("sqlite", f"sqlite+aiosqlite:///{tmp_path / name}", None)
        values = server_env(backend, AIQ_INGEST__BATCH_SIZE=str(BATCH))
        assert aiqleads(["db", "upgrade"], values, tmp_path).returncode == 0
        return values

    # Given what one uninterrupted run stores
    clean = env("clean.db")
    done = aiqleads(args, clean, tmp_path)
    assert done.returncode == 0, done.stderr
    expected = _stored(tmp_path / "clean.db")
    assert expected["prices"] and max(Counter(k[:2] for k in expected["prices"]).values()) == 2

    # When the same ingest is killed with SIGKILL after some batches have been committed
    killed_db = tmp_path / "killed.db"
    killed = env("killed.db")
    with (tmp_path / "killed.log").open("w") as log:
        proc = subprocess.Popen(AIQLEADS + args, env=killed, cwd=tmp_path, stdout=log, stderr=log)
        wait_until(lambda: _count(killed_db, "leads") >= 3 * BATCH or proc.poll() is not None,
                   "three committed batches")  # fmt: skip
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # (it really was mid-file: part of the leads stored, its run still marked running)
    assert proc.returncode == -signal.SIGKILL
    assert 0 < _count(killed_db, "leads") < sum(expected["leads"].values())
    # And it is run again to its end
    rerun = aiqleads(args, killed, tmp_path)
    assert rerun.returncode == 0, rerun.stderr

    # Then the database holds exactly what the uninterrupted run stored: every lead, every
    # source's row and every price observation once
    assert _stored(killed_db) == expected
