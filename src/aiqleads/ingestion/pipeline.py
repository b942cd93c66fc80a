"""The ingestion pipeline: documents → parse → the record stages of the settings, batch by batch.

Each batch of `settings.ingest.batch_size` records goes through every stage and is committed in
one transaction with its quarantine rows. A run stopped half-way keeps its committed batches, and
a re-run finds them unchanged (same source_ref and content hash) and completes the rest.

Every run is recorded (`ingestion.runs`): at its start, after each committed batch, and at its
end, succeeded or failed.

While the database stores one batch, the process reads the next: it parses it and runs the pure
stages (normalize, validate: `PureStage`) on it, a slice of records at a time, giving the event
loop a turn between slices so that the storing batch's replies are handled as they arrive. One
batch is stored at a time, in order, and the next batch's stages that read the database start
only after the previous batch committed: what is committed, and when, is as without the overlap.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.ingestion import repository, runs
from aiqleads.ingestion.batch import Batch, Item, Outcome, QuarantineEntry
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.known import fingerprint, resolve_known
from aiqleads.ingestion.parsers.registry import get_parser
from aiqleads.ingestion.payloads import document_payload, dumpable, rejected_payload
from aiqleads.ingestion.records import ParseError, RawRecord, Rejected, StreamParser
from aiqleads.ingestion.stages import STAGES, Stage
from aiqleads.ingestion.stages.base import PureStage
from aiqleads.ingestion.summary import IngestSummary
from aiqleads.kit.clock import Clock, SystemClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.memory import bulk_allocation, release_free_memory
from aiqleads.observability.metrics import (
    INGEST_RECORDS,
    INGEST_RUNS_ACTIVE,
    INGEST_STAGE_RECORDS,
    INGEST_STAGE_SECONDS,
    QUARANTINE,
)

log = logging.getLogger(__name__)
Progress = Callable[[int], None]
_WRITES = (Outcome.CREATED, Outcome.UPDATED, Outcome.MERGED)
# Records read or normalised between two turns of the event loop while a batch is being stored:
# small enough (a few milliseconds of work) that the store's replies wait little, large enough
# that the turns cost nothing measurable.
_SLICE = 32


def _head(document: Document) -> bytes:
    try:
        return document.head()
    except (OSError, EOFError) as exc:  # a truncated .gz: its first bytes are all we know
        return f"<unreadable: {type(exc).__name__}>".encode()


def _source_of(documents: Iterable[Document], source: str | None) -> tuple[Iterable[Document], str]:
    """The source a run records: `source`, else the first document's (a CSV read through an
    operator's mapping: the mapping's, which its records carry); and the documents, whole."""
    if source is not None:
        return documents, source
    stream = iter(documents)
    first = next(stream, None)
    if first is None:
        return (), "unknown"
    named = getattr(first.parser, "source", None)
    return itertools.chain([first], stream), named if isinstance(named, str) else first.source


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        stages: list[Stage],
        *,
        clock: Clock | None = None,
        cipher: FieldCipher | None = None,
    ) -> None:
        self.settings = settings
        # Opens the quarantine's sealed payloads for a retry.
        self.cipher = cipher or FieldCipher(settings.encryption_keys)
        self.stages = stages
        self.clock = clock or SystemClock()  # the times a run records (not the leads' `now`)
        self._written = 0  # rows this pipeline stored, to know when statistics are stale
        self._analysed_at = 0

    @classmethod
    def from_settings(
        cls, settings: Settings, cipher: FieldCipher | None = None, *, clock: Clock | None = None
    ) -> Pipeline:
        cipher = cipher or FieldCipher(settings.encryption_keys)
        names = [n for n in settings.ingest.stages if n != "parse"]
        return cls(
            settings,
            [STAGES[n].from_settings(settings, cipher) for n in names],
            clock=clock,
            cipher=cipher,
        )

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    async def run(
        self,
        sessions: async_sessionmaker[AsyncSession],
        documents: Iterable[Document],
        *,
        metro: str | None,
        now: datetime,
        progress: Progress | None = None,
        source: str | None = None,
    ) -> IngestSummary:
        """Ingest every record of `documents`; aiq_ingest_runs_active counts it meanwhile.

        The run is recorded as a run of `source` (default: the first document's source) at
        the pipeline's clock: `running` from the start, its counts after each committed batch,
        then `succeeded`, or `failed` with the error, which is raised again."""
        with INGEST_RUNS_ACTIVE.track_inprogress(), bulk_allocation():
            documents, name = _source_of(documents, source)
            run_id = await runs.start(sessions, source=name, metro=metro, at=self.clock.now())
            summary = IngestSummary()
            try:
                await self._run(
                    sessions, documents, summary, run_id, metro=metro, now=now, progress=progress
                )
            except BaseException as exc:  # a cancelled run (Ctrl-C) is a failed run too
                await self._record_failure(sessions, run_id, summary, exc)
                raise
            await runs.finish(sessions, run_id, summary, at=self.clock.now())
            return summary

    async def _record_failure(
        self,
        sessions: async_sessionmaker[AsyncSession],
        run_id: int,
        summary: IngestSummary,
        exc: BaseException,
    ) -> None:
        try:
            await runs.finish(sessions, run_id, summary, at=self.clock.now(), error=exc)
        except Exception:  # the database may be what failed: the run stays `running`
            log.exception("could not record that ingestion run %s failed", run_id)

    async def _run(
        self,
        sessions: async_sessionmaker[AsyncSession],
        documents: Iterable[Document],
        summary: IngestSummary,
        run_id: int,
        *,
        metro: str | None,
        now: datetime,
        progress: Progress | None,
    ) -> None:
        started = time.perf_counter()
        size = self.settings.ingest.batch_size
        items: list[Item] = []
        rejects: list[QuarantineEntry] = []
        read = 0
        storing: asyncio.Task[None] | None = None  # the batch the database is storing
        try:
            for document in documents:
                summary.documents += 1
                for parsed, counted in self._parse(document, summary):
                    read += counted
                    if isinstance(parsed, Item):
                        items.append(parsed)
                    else:
                        rejects.append(parsed)
                    held = len(items) + len(rejects)
                    if storing is not None and held % _SLICE == 0:
                        await asyncio.sleep(0)  # a turn for the storing batch's replies
                    if held >= size:
                        batch = Batch(items, now, metro, rejects)
                        storing = await self._hand_over(
                            sessions, batch, read, storing, summary, run_id, progress
                        )
                        items, rejects, read = [], [], 0
            if items or rejects:
                batch = Batch(items, now, metro, rejects)
                storing = await self._hand_over(
                    sessions, batch, read, storing, summary, None, progress
                )
            if storing is not None:
                await storing
        except asyncio.CancelledError:
            if storing is not None:
                storing.cancel()  # a stopped run (Ctrl-C) stops the batch in flight too
            raise
        finally:
            if storing is not None:
                # A failure while reading the next batch lets the batch in flight commit, as
                # without the overlap. Waited for in every case, so that nothing of this run
                # still writes after it returns and its error is never left unretrieved.
                await asyncio.gather(storing, return_exceptions=True)
        summary.seconds = time.perf_counter() - started

    async def _hand_over(
        self,
        sessions: async_sessionmaker[AsyncSession],
        batch: Batch,
        read: int,
        storing: asyncio.Task[None] | None,
        summary: IngestSummary,
        run_id: int | None,
        progress: Progress | None,
    ) -> asyncio.Task[None]:
        """Run the pure stages on `batch` while `storing` (the previous batch) is stored, wait
        for that to commit (raising its error), then start storing `batch`. `run_id`: record
        the run's progress after the commit (None for the last batch: the run's end does)."""
        held = len(batch.items) + len(batch.quarantine)  # the records parsed into it
        prepared = await self._prepare(batch, summary)
        if storing is not None:
            await storing
        return asyncio.create_task(
            self._store(sessions, batch, (read, held), prepared, summary, run_id, progress)
        )

    async def _prepare(self, batch: Batch, summary: IngestSummary) -> int:
        """The leading pure stages on `batch`, `_SLICE` records at a time with a turn of the
        event loop between slices, then the records' fingerprints (`known.fingerprint`) when
        the next stage is the first to read what is stored; how many stages ran. Stage seconds
        count their own work, not the turns."""
        done = 0
        for stage in self.stages:
            if not isinstance(stage, PureStage):
                break
            before = len(batch.quarantine)
            live = batch.live()
            seconds = 0.0
            for start in range(0, len(live), _SLICE):
                clock = time.perf_counter()
                stage.apply(batch, live[start : start + _SLICE])
                seconds += time.perf_counter() - clock
                await asyncio.sleep(0)
            self._account(batch, summary, stage.name, live=len(live), before=before)
            summary.stage(stage.name).seconds += seconds
            INGEST_STAGE_SECONDS.labels(stage.name).observe(seconds)
            done += 1
        if done < len(self.stages) and self.stages[done].needs_known:
            # `resolve_known` hashes just before that stage: no stage runs in between that
            # could change a lead, so the hash is the one it would compute.
            live = batch.live()
            for start in range(0, len(live), _SLICE):
                fingerprint(live[start : start + _SLICE], self.settings)
                await asyncio.sleep(0)
        return done

    async def _store(
        self,
        sessions: async_sessionmaker[AsyncSession],
        batch: Batch,
        counts: tuple[int, int],
        prepared: int,
        summary: IngestSummary,
        run_id: int | None,
        progress: Progress | None,
    ) -> None:
        read, held = counts
        summary.read += read  # the run's record counts the batches handed to the database
        await self.run_batch(sessions, batch, summary, prepared=prepared)
        if run_id is not None:
            await runs.progress(sessions, run_id, summary, at=self.clock.now())
        if progress is not None:
            progress(held)

    def _parse(
        self, document: Document, summary: IngestSummary
    ) -> Iterator[tuple[Item | QuarantineEntry, bool]]:
        """Records and rejects of one document, each with True (a record read); an unreadable
        document is one quarantine entry (with False), after whatever records it yielded before
        the damage."""
        stats = summary.stage("parse")
        clock = time.perf_counter()
        failure: str | None = None
        stream: BinaryIO | None = None
        try:
            whole = document.parser or get_parser(document.source)
            reader: StreamParser | None = getattr(whole, "stream", None)
            if reader is not None:
                stream = document.open()
                parsed = iter(reader(stream))
            else:
                parsed = iter(whole(document.read()))
            while True:
                try:
                    found = next(parsed)
                except StopIteration:
                    break
                stats.seconds += time.perf_counter() - clock
                stats.records += 1
                yield self._parsed(found), True
                clock = time.perf_counter()
        except ParseError as exc:
            failure = f"parse_error: {exc}"
        except Exception as exc:  # a parser bug on odd input must cost one document, not the run
            failure = f"parse_failed: {type(exc).__name__}: {str(exc)[:200]}"
        finally:
            if stream is not None:
                stream.close()
        stats.seconds += time.perf_counter() - clock
        if failure is not None:
            stats.dropped += 1
            entry = QuarantineEntry(
                document.source,
                None,
                "parse",
                [failure],
                document_payload(document.name, document.size, _head(document)),
            )
            yield entry, False

    def _parsed(self, found: RawRecord | Rejected) -> Item | QuarantineEntry:
        if isinstance(found, Rejected):
            return QuarantineEntry(
                found.source,
                found.source_ref,
                "parse",
                [f"parse_rejected: {found.reason}"],
                dumpable(rejected_payload(found)),
            )
        return Item(found)

    async def run_batch(
        self,
        sessions: async_sessionmaker[AsyncSession],
        batch: Batch,
        summary: IngestSummary,
        *,
        prepared: int = 0,
    ) -> None:
        """All stages on one batch, committed together; counters move only after the commit.
        `prepared`: the first stages already ran on the batch (`_prepare`)."""
        timings: dict[str, float] = {}
        async with transaction(sessions) as session:
            for stage in self.stages[prepared:]:
                if stage.needs_known:
                    await resolve_known(batch, session, self.settings)
                before = len(batch.quarantine)
                live = len(batch.live())
                clock = time.perf_counter()
                await stage.process(batch, session)
                timings[stage.name] = time.perf_counter() - clock
                self._account(batch, summary, stage.name, live=live, before=before)
        await self._refresh_statistics(sessions, batch)
        for name, seconds in timings.items():
            summary.stage(name).seconds += seconds
            INGEST_STAGE_SECONDS.labels(name).observe(seconds)
        summary.add_batch(batch)
        self._count(batch)
        release_free_memory()  # memory stays flat over a file of any size

    @staticmethod
    def _account(
        batch: Batch, summary: IngestSummary, name: str, *, live: int, before: int
    ) -> None:
        """A stage's records in (`live`) and dropped (quarantine entries since `before`)."""
        source = next((i.raw.source for i in batch.items), "unknown")
        stats = summary.stage(name)
        stats.records += live
        INGEST_STAGE_RECORDS.labels(source, name).inc(live)
        stats.dropped += len(batch.quarantine) - before

    async def _refresh_statistics(
        self, sessions: async_sessionmaker[AsyncSession], batch: Batch
    ) -> None:
        # Each time the rows written doubled: a handful of ANALYZE runs over a whole bulk load.
        self._written += sum(1 for i in batch.items if i.outcome in _WRITES)
        if self._written >= max(2 * self._analysed_at, self.settings.ingest.batch_size):
            self._analysed_at = self._written
            async with transaction(sessions) as session:
                await repository.refresh_statistics(session)

    @staticmethod
    def _count(batch: Batch) -> None:
        for item in batch.items:
            if item.outcome is not None:
                INGEST_RECORDS.labels(item.raw.source, str(item.outcome)).inc()
        for entry in batch.quarantine:
            QUARANTINE.labels(entry.source, entry.reason).inc()
            if entry.stage == "parse":
                INGEST_RECORDS.labels(entry.source, "quarantined").inc()
