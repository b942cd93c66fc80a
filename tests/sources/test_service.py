"""Source monitoring end to end: a source's profile, its baseline, a changed layout that drifts,
the drift at /metrics, and the AIQSourceDrift alert firing on those very samples."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.sources import service
from tests.monitoring_tools import ALERTS, tool
from tests.sources.kc import NO_COORDINATES, RENAMED_COORDINATES, kc_document

SOURCE = "king_county_sales"


async def _ingest(
    sessions: async_sessionmaker[AsyncSession], pipeline: Pipeline, doc: object, clock: FrozenClock
) -> None:
    await pipeline.run(sessions, [doc], metro="seattle", now=clock.now())  # type: ignore[list-item]


def _alert_fires(samples: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """promtool's verdict on: these scraped samples, held for 30 minutes, fire AIQSourceDrift
    for the source at 15 minutes (its `for` is 10)."""
    series = []
    for line in samples:
        name_labels, value = line.rsplit(" ", 1)
        labelled = name_labels.replace("{", '{job="aiqleads-api",instance="api:8000",', 1)
        series.append({"series": labelled, "values": f"{float(value):g}x30"})
    test = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": "15m",
                        "alertname": "AIQSourceDrift",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "area": "sources",
                                    "kind": "symptom",
                                    "source": SOURCE,
                                },
                                "exp_annotations": {
                                    "summary": f"Source {SOURCE} drifted from its baseline",
                                    "description": (
                                        f"A key field of {SOURCE} (owner phone share, price"
                                        " percentiles, ZIP-only share, quarantine reasons) moved"
                                        " beyond its threshold; `aiqleads sources report"
                                        f" --source {SOURCE}` shows which."
                                    ),
                                    "runbook_url": "docs/operations/alerts.md#aiqsourcedrift",
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "drift_test.yml"
    path.write_text(yaml.safe_dump(test))
    return subprocess.run(
        [tool("promtool"), "test", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_a_changed_layout_drifts_and_the_alert_fires(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    client: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    pipeline = Pipeline.from_settings(settings, cipher)
    monitor = settings.sources
    # Given 200 King County sales in the layout the source sends, profiled: the first profile
    # becomes the source's baseline, and nothing drifted
    await _ingest(sessions, pipeline, kc_document(0, 200), clock)
    async with transaction(sessions) as session:
        [first] = await service.refresh(session, now=clock.now(), settings=monitor)
    assert first.source == SOURCE and first.baseline is not None and first.sufficient
    assert not first.drifted
    assert first.latest.fields["zip_only"] == 0.0
    assert first.latest.coverage["exact_location"] == 1.0
    # When, eight days later (past the 7-day window), 200 more sales come without their
    # coordinates, and the sources are profiled again
    clock.advance(timedelta(days=8))
    await _ingest(sessions, pipeline, kc_document(200, 400, blank=NO_COORDINATES), clock)
    async with transaction(sessions) as session:
        [report] = await service.refresh(session, now=clock.now(), settings=monitor)
    # Then the source drifted: its leads are now located by ZIP only
    assert report.drifted
    drifted = {d.field for d in report.drifts if d.exceeded}
    assert drifted == {"zip_only"}
    zip_only = next(d for d in report.drifts if d.field == "zip_only")
    assert zip_only.baseline == 0.0 and zip_only.latest is not None and zip_only.latest > 0.9
    # And /metrics says so, whichever process answers (it reads the stored profiles)
    body = (await client.get("/metrics")).text
    samples = [line for line in body.splitlines() if line.startswith("aiq_source_drifted{")]
    assert samples == [f'aiq_source_drifted{{source="{SOURCE}"}} 1.0']
    field = re.search(
        rf'^aiq_source_field_drift\{{field="zip_only",source="{SOURCE}"\}} (\S+)$', body, re.M
    )
    assert field is not None and float(field.group(1)) > 0.9
    # And the shipped alert rule fires on those very samples
    verdict = _alert_fires(samples, tmp_path)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    # And accepting the change as the new baseline clears it
    async with transaction(sessions) as session:
        await service.set_baseline(session, now=clock.now(), settings=monitor)
        [after] = await service.refresh(session, now=clock.now(), settings=monitor)
    assert not after.drifted


async def test_a_renamed_column_quarantines_the_file_and_drifts(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    pipeline = Pipeline.from_settings(settings, cipher)
    monitor = settings.sources
    # Given a baseline of 100 sales in the source's layout
    await _ingest(sessions, pipeline, kc_document(0, 100), clock)
    async with transaction(sessions) as session:
        await service.refresh(session, now=clock.now(), settings=monitor)
    # When the next week's file renames its coordinate columns
    clock.advance(timedelta(days=8))
    await _ingest(sessions, pipeline, kc_document(100, 200, renamed=RENAMED_COORDINATES), clock)
    async with transaction(sessions) as session:
        [report] = await service.refresh(session, now=clock.now(), settings=monitor)
    # Then the whole file is in the quarantine (one record: the document), and that alone is
    # a drift, though no lead came to judge the lead fields by
    assert report.latest.leads == 0 and report.latest.quarantined == 1
    assert {d.field for d in report.drifts if d.exceeded} == {
        "quarantined",
        "quarantine:parse_error",
    }
