"""The record of ingestion runs: the pipeline records each run at its start, after each
committed batch and at its end, succeeded or failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.ingestion.conftest import kc_document

from aiqleads.db.engine import transaction
from aiqleads.ingestion.batch import Batch
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.mapping import builtin_mapping
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.ingestion.runs import describe_error
from aiqleads.ingestion.stages.store import StoreStage
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import IngestionRun
from aiqleads.models.enums import RunOutcome

MakePipeline = Callable[..., Pipeline]
Sessions = async_sessionmaker[AsyncSession]


async def _runs(sessions: Sessions) -> list[IngestionRun]:
    async with transaction(sessions) as session:
        return list((await session.scalars(select(IngestionRun).order_by(IngestionRun.id))).all())


async def test_a_run_is_recorded_with_its_summarys_counts(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    # Given a price rule that quarantines many King County sales
    strict = make_pipeline(max_sale_price_cents=300_000_00, batch_size=7)
    # When 20 sales are ingested for Seattle
    summary = await strict.run(sessions, [kc_document(20)], metro="seattle", now=clock.now())
    # Then one run is recorded, succeeded, with the very counts of the summary
    [run] = await _runs(sessions)
    printed = summary.as_dict()
    assert (run.source, run.metro, run.outcome) == ("king_county_sales", "seattle", "succeeded")
    assert run.started_at == run.finished_at == run.progress_at == clock.now()
    for name in ("documents", "read", "created", "updated", "unchanged", "merged", "quarantined"):
        assert getattr(run, name) == printed[name], name
    assert run.read == 20 and run.quarantined > 0
    assert run.quarantined_by_reason == printed["quarantined_by_reason"]
    assert set(run.quarantined_by_reason) == {"price_implausible"}
    assert run.stages["store"] == printed["stages"]["store"]
    assert run.error_class is None and run.error_message is None


class _Watches(StoreStage):
    """A store that, in each batch, reads the run's record as an operator would see it then,
    and moves the pipeline's clock a minute on; in its third batch it fails."""

    clock: FrozenClock
    seen: list[tuple[str, int, int, object, object]]

    async def process(self, batch: Batch, session: AsyncSession) -> None:
        run = (await session.scalars(select(IngestionRun))).one()
        self.seen.append(
            (run.outcome, run.read, run.created + run.merged, run.progress_at, run.finished_at)
        )
        if len(self.seen) == 3:
            raise RuntimeError("disk full at (206) 555-0142")
        await super().process(batch, session)
        self.clock.advance(timedelta(minutes=1))


async def test_a_run_shows_its_progress_and_a_failure_is_recorded_with_the_error(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    # Given a pipeline whose store fails in its third batch of 50
    full = make_pipeline(batch_size=50)
    store = full.stages[-1]
    watcher = _Watches(full.settings, store.cipher)
    watcher.clock, watcher.seen = clock, []
    dying = Pipeline(full.settings, [*full.stages[:-1], watcher], clock=clock)
    start = clock.now()
    # When it runs over 200 sales, the error reaches the caller
    with pytest.raises(RuntimeError, match="disk full"):
        await dying.run(sessions, [kc_document(200)], metro=None, now=clock.now())
    # Then while it ran, its record said `running`, with the counts of the batches committed so
    # far and the time of the last one: what a killed run leaves behind
    assert watcher.seen == [
        ("running", 0, 0, start, None),
        ("running", 50, 50, start + timedelta(minutes=1), None),
        ("running", 100, 100, start + timedelta(minutes=2), None),
    ]
    # And it ended `failed` with the error's class and message (a phone number redacted), and
    # the counts of the two batches that committed
    [run] = await _runs(sessions)
    assert run.outcome == RunOutcome.FAILED
    assert (run.error_class, run.error_message) == ("RuntimeError", "disk full at [phone]")
    assert run.finished_at == start + timedelta(minutes=2)
    assert run.created + run.merged == 100


async def test_a_csv_read_through_a_mapping_is_a_run_of_the_mappings_source(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    # Given King County sales handed over as an operator's CSV, with the source's mapping
    parser = builtin_mapping("king_county_sales").parser()
    body = kc_document(3).read()
    document = Document("sales.csv", "csv", body, parser=parser)
    # When ingested, and then nothing at all
    await make_pipeline().run(sessions, [document], metro=None, now=clock.now())
    await make_pipeline().run(sessions, [], metro=None, now=clock.now())
    # Then the first is a run of the source its leads carry, the second of no known source
    assert [(r.source, r.read, r.outcome) for r in await _runs(sessions)] == [
        ("king_county_sales", 3, "succeeded"),
        ("unknown", 0, "succeeded"),
    ]


def test_a_database_errors_parameters_stay_out_of_the_record() -> None:
    # Given a failed statement whose parameters hold a record's values
    error = IntegrityError(
        "INSERT INTO leads (street_address) VALUES (?)",
        ("12 Secret Lane",),
        ValueError("UNIQUE constraint failed: leads.source"),
    )
    # When described for the run's record
    kind, message = describe_error(error)
    # Then the class is named in full and the message is the driver's, without the values
    assert kind == "sqlalchemy.exc.IntegrityError"
    assert message == "ValueError: UNIQUE constraint failed: leads.source"
