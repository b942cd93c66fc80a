"""The behaviour × market correlation report: Spearman's rho by hand on small matrices,
zero-variance columns reported as such, and the files on a fixture with a planted
correlation (and `aiqleads features report`)."""

from __future__ import annotations

import asyncio
import csv
import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.cli import main
from aiqleads.config import Settings
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.events import repository as event_log
from aiqleads.features import report
from aiqleads.features.lead_market import MARKET_FEATURES
from aiqleads.features.matrix import FeatureMatrix
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead
from aiqleads.models.enums import EventKind
from tests.conftest import T0, Backend
from tests.factories import insert_leads, lead_row, make_account

NOW = T0
ZIPS = ("98101", "98102", "98103", "98104", "98105")
PER_ZIP = 6


def _matrix(columns: dict[str, list[float]]) -> FeatureMatrix:
    names = tuple(columns)
    values = np.array([columns[n] for n in names], dtype=np.float64).T
    return FeatureMatrix(np.arange(values.shape[0], dtype=np.int64), names, values)


def test_rho_by_hand_and_zero_variance_reported() -> None:
    # Given 5 leads: views rising, recency falling with a tie, holds constant; a market column
    # rising with one swap, and a constant one
    m = _matrix(
        {
            "views_7d": [1, 2, 3, 4, 5],
            "recency_hours": [9, 7, 7, 3, 1],
            "holds_7d": [0, 0, 0, 0, 0],
            "market_share_sold": [0.1, 0.3, 0.2, 0.4, 0.5],
            "market_sale_to_list": [1, 1, 1, 1, 1],
        }
    )
    # When the pairs are correlated
    rows = report.correlations(
        m, ["views_7d", "recency_hours", "holds_7d"], ["market_share_sold", "market_sale_to_list"]
    )
    by = {(r.behaviour, r.market): r for r in rows}
    # Then rho is Pearson's of the ranks: ranks 1..5 against 1,3,2,4,5 give 1 − 6·2/(5·24) = 0.9
    views = by["views_7d", "market_share_sold"]
    assert (views.n, views.status) == (5, "ok")
    assert views.rho == pytest.approx(0.9)
    assert views.p_value is not None and 0 < views.p_value < 0.1
    # recency's ranks 5, 3.5, 3.5, 2, 1 (a tie) against 1, 3, 2, 4, 5
    recency = by["recency_hours", "market_share_sold"]
    assert recency.rho == pytest.approx(np.corrcoef([5, 3.5, 3.5, 2, 1], [1, 3, 2, 4, 5])[0, 1])
    assert recency.rho is not None and recency.rho < 0
    # And constant columns are named, with no rho and no p-value
    assert by["holds_7d", "market_share_sold"].status == "zero variance in behaviour"
    assert by["views_7d", "market_sale_to_list"].status == "zero variance in market"
    assert by["holds_7d", "market_sale_to_list"].rho is None
    # And a column the matrix lacks is refused by name
    with pytest.raises(ValueError, match="engagement"):
        report.correlations(m, ["engagement"], ["market_share_sold"])


def test_too_few_leads_is_a_status_not_a_nan(tmp_path: Path) -> None:
    m = _matrix({"views_7d": [1, 2], "market_share_sold": [0.1, 0.2]})
    rows = report.correlations(m, ["views_7d"], ["market_share_sold"])
    assert rows[0].status == "fewer than 3 leads" and rows[0].rho is None
    report.write_csv(rows, tmp_path / "t.csv")
    assert "nan" not in (tmp_path / "t.csv").read_text().lower()


async def _plant(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher
) -> None:
    """5 ZIPs of 6 leads; in the k-th ZIP (k = 0..4) k leads are sold, and each lead was
    viewed k times, the latest (5 − k) × 10 hours before NOW: the more a ZIP sells, the more
    and the more recently its leads are viewed."""
    rows = [
        lead_row(
            settings,
            cipher,
            now=NOW,
            source_ref=f"{zip_code}-{i}",
            zip_code=zip_code,
            status="sold" if i < k else "available",
        )
        for k, zip_code in enumerate(ZIPS)
        for i in range(PER_ZIP)
    ]
    await insert_leads(sessions, rows, now=NOW)
    agent = await make_account(sessions, now=NOW)
    async with sessions() as session:
        found = (await session.execute(select(Lead.id, Lead.zip_code))).all()
    events = [
        event_log.event(
            EventKind.VIEW,
            account_id=agent.id,
            lead_id=lead_id,
            at=NOW - timedelta(hours=(5 - k) * 10 + j),
        )
        for lead_id, zip_code in found
        for k in [ZIPS.index(zip_code)]
        for j in range(k)
    ]
    async with transaction(sessions) as session:
        await event_log.append(session, events)


async def test_the_report_shows_a_planted_correlation(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    tmp_path: Path,
) -> None:
    # Given the planted leads and views
    await _plant(sessions, settings, cipher)
    # When the report is built
    async with sessions() as session:
        built = await report.build(session, NOW, tmp_path / "out", settings=settings.features)
    # Then both files exist: a PNG and a CSV with the stated columns, one line a pair
    assert built.leads == len(ZIPS) * PER_ZIP
    assert built.png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with built.csv_path.open(newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == report.CSV_COLUMNS
        lines = list(reader)
    assert len(lines) == len(report.BEHAVIOUR_FEATURES) * len(MARKET_FEATURES)
    assert "nan" not in built.csv_path.read_text().lower()
    by = {(r["behaviour"], r["market"]): r for r in lines}
    # And views rise with the share sold, recency falls with it, both clearly
    views = by["views_30d", "market_share_sold"]
    assert views["status"] == "ok" and float(views["rho"]) > 0.9
    assert float(views["p_value"]) < 0.001 and int(views["n"]) == 30
    recency = by["recency_hours", "market_share_sold"]
    assert float(recency["rho"]) < -0.9
    # And columns that never vary are reported as such, without a number
    holds = by["holds_7d", "market_share_sold"]
    assert holds["status"] == "zero variance in behaviour"
    assert holds["rho"] == holds["p_value"] == ""
    assert by["views_30d", "market_sale_to_list"]["status"] == "zero variance in market"
    assert all(math.isfinite(r.rho) for r in built.rows if r.rho is not None)


def test_the_command_writes_the_report(
    cli: CliRunner,
    engine: AsyncEngine,
    backend: Backend,
    tmp_path: Path,
) -> None:
    # Given three leads (written on an engine of this run's own event loop)
    settings = backend.settings()
    cipher = FieldCipher(settings.encryption_keys)
    rows = [lead_row(settings, cipher, now=NOW, zip_code=z) for z in ZIPS[:3]]

    async def insert() -> None:
        own = create_engine(settings)
        try:
            await insert_leads(session_factory(own), rows)
        finally:
            await own.dispose()

    asyncio.run(insert())
    # When `aiqleads features report --out DIR` runs
    res = cli.invoke(main, ["features", "report", "--out", str(tmp_path / "r")])
    # Then it prints the table and writes both files
    assert res.exit_code == 0, res.output
    assert "Spearman" in res.output and "zero variance" in res.output
    assert (tmp_path / "r" / report.CSV_NAME).is_file()
    assert (tmp_path / "r" / report.PNG_NAME).is_file()
