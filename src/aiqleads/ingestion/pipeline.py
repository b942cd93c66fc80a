"""The ingestion pipeline: documents → parse → the record stages of the settings, batch by batch.

Each batch of `settings.ingest.batch_size` records goes through every stage and is committed in
one transaction with its quarantine rows. A run stopped half-way keeps its committed batches, and
a re-run finds them unchanged (same source_ref and content hash) and completes the rest.

Two batches are in flight: while the database stores batch N (the stages that read or write it),
a worker thread parses batch N+1 and runs the leading stages that need only the batch
(`Stage.batch_only`: normalize, validate). The database's work and the ingest process's then
overlap instead of waiting for each other. Nothing of batch N+1 is written or counted before
batch N committed, so a run killed at any point leaves exactly what the serial run would.

Every run is recorded (`ingestion.runs`): at its start, after each committed batch, and at its
end, succeeded or failed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.ingestion import repository, runs
from aiqleads.ingestion.batch import Batch, Item, Outcome, QuarantineEntry
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.known import resolve_known
from aiqleads.ingestion.parsers.registry import get_parser
from aiqleads.ingestion.payloads import document_payload, dumpable, rejected_payload
from aiqleads.ingestion.records import ParseError, RawRecord, Rejected, StreamParser
from aiqleads.ingestion.stages import STAGES, Stage
from aiqleads.ingestion.summary import IngestSummary, StageStats
from aiqleads.kit.clock import Clock, SystemClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.memory import release_free_memory
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


@dataclass
class _Ahead:
    """A batch parsed and through the leading batch-only stages, not yet counted in the run's
    summary: its parse counts and each early stage's (seconds, records, dropped)."""

    batch: Batch
    size: int  # records and rejects, for the progress callback
    documents: int = 0
    read: int = 0
    parse: StageStats = field(default_factory=StageStats)
    stages: dict[str, StageStats] = field(default_factory=dict)


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
        with INGEST_RUNS_ACTIVE.track_inprogress():
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
        batches = self._batches(documents, now=now, metro=metro)
        ahead = await asyncio.to_thread(next, batches, None)
        while ahead is not None:
            if not ahead.size:  # documents that gave no record: their counts only
                self._take_counts(summary, ahead, "unknown")
                ahead = await asyncio.to_thread(next, batches, None)
                continue
            # Batch N is stored while the next one is parsed and normalised in a worker thread;
            # the thread touches only its own batch and counts (see _Ahead).
            storing = asyncio.ensure_future(self.run_batch(sessions, ahead.batch, summary, ahead))
            following = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            try:
                await asyncio.wait([storing, following])
            except asyncio.CancelledError:  # Ctrl-C: the batch rolls back; the thread ends
                storing.cancel()
                await asyncio.gather(storing, return_exceptions=True)
                raise
            error = storing.exception()
            if error is not None:
                raise error
            await runs.progress(sessions, run_id, summary, at=self.clock.now())
            if progress is not None:
                progress(ahead.size)
            ahead = following.result()
        summary.seconds = time.perf_counter() - started

    def _batches(
        self, documents: Iterable[Document], *, now: datetime, metro: str | None
    ) -> Iterator[_Ahead]:
        """Batches of `batch_size` records and rejects, each through the leading batch-only
        stages, with their counts (run in a worker thread, one batch at a time)."""
        size = self.settings.ingest.batch_size
        parsed = IngestSummary()  # this generator's own counts; each batch takes its share
        taken = _Ahead(Batch([], now, metro), 0)
        items: list[Item] = []
        rejects: list[QuarantineEntry] = []

        def cut() -> _Ahead:
            nonlocal items, rejects
            stats = parsed.stage("parse")
            ahead = _Ahead(
                Batch(items, now, metro, rejects),
                len(items) + len(rejects),
                documents=parsed.documents - taken.documents,
                read=parsed.read - taken.read,
                parse=StageStats(
                    stats.seconds - taken.parse.seconds,
                    stats.records - taken.parse.records,
                    stats.dropped - taken.parse.dropped,
                ),
            )
            taken.documents, taken.read = parsed.documents, parsed.read
            taken.parse = StageStats(stats.seconds, stats.records, stats.dropped)
            items, rejects = [], []
            if ahead.size:
                self._run_leading(ahead)
            return ahead

        for document in documents:
            parsed.documents += 1
            for found in self._parse(document, parsed):
                if isinstance(found, Item):
                    items.append(found)
                else:
                    rejects.append(found)
                if len(items) + len(rejects) >= size:
                    yield cut()
        rest = parsed.documents != taken.documents or parsed.read != taken.read
        if items or rejects or rest or parsed.stage("parse").seconds != taken.parse.seconds:
            yield cut()  # the last records, or only the counts of the documents' ends

    def _leading(self) -> list[Stage]:
        """The stages before the first that needs the database."""
        return list(itertools.takewhile(lambda s: s.batch_only and not s.needs_known, self.stages))

    def _run_leading(self, ahead: _Ahead) -> None:
        batch = ahead.batch
        for stage in self._leading():
            before, live = len(batch.quarantine), len(batch.live())
            clock = time.perf_counter()
            stage.work(batch)
            seconds = time.perf_counter() - clock
            ahead.stages[stage.name] = StageStats(seconds, live, len(batch.quarantine) - before)

    def _parse(
        self, document: Document, summary: IngestSummary
    ) -> Iterator[Item | QuarantineEntry]:
        """Records and rejects of one document; an unreadable document is one quarantine entry,
        after whatever records it yielded before the damage."""
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
                summary.read += 1
                stats.records += 1
                yield self._parsed(found)
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
            yield QuarantineEntry(
                document.source,
                None,
                "parse",
                [failure],
                document_payload(document.name, document.size, _head(document)),
            )

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
        ahead: _Ahead | None = None,
    ) -> None:
        """All stages on one batch, committed together; counters move only after the commit.
        `ahead`: the batch as `_batches` made it (parsed, its leading batch-only stages run)."""
        if ahead is None:
            ahead = _Ahead(batch, len(batch.items) + len(batch.quarantine))
            self._run_leading(ahead)
        source = next((i.raw.source for i in batch.items), "unknown")
        timings = self._take_counts(summary, ahead, source)
        async with transaction(sessions) as session:
            for stage in self.stages[len(ahead.stages) :]:
                if stage.needs_known:
                    await resolve_known(batch, session, self.settings)
                before = len(batch.quarantine)
                live = len(batch.live())
                clock = time.perf_counter()
                await stage.process(batch, session)
                timings[stage.name] = time.perf_counter() - clock
                stats = summary.stage(stage.name)
                stats.records += live
                INGEST_STAGE_RECORDS.labels(source, stage.name).inc(live)
                stats.dropped += len(batch.quarantine) - before
        await self._refresh_statistics(sessions, batch)
        for name, seconds in timings.items():
            summary.stage(name).seconds += seconds
            INGEST_STAGE_SECONDS.labels(name).observe(seconds)
        summary.add_batch(batch)
        self._count(batch)
        release_free_memory()  # memory stays flat over a file of any size

    @staticmethod
    def _take_counts(summary: IngestSummary, ahead: _Ahead, source: str) -> dict[str, float]:
        """Count a batch's parse and early stages in the run's summary (when it is stored, so
        that progress shows what is committed); returns the early stages' seconds."""
        summary.documents += ahead.documents
        summary.read += ahead.read
        if ahead.documents or ahead.parse.records or ahead.parse.dropped or ahead.parse.seconds:
            parse = summary.stage("parse")
            parse.seconds += ahead.parse.seconds
            parse.records += ahead.parse.records
            parse.dropped += ahead.parse.dropped
        timings = {}
        for name, early in ahead.stages.items():
            stats = summary.stage(name)
            stats.records += early.records
            stats.dropped += early.dropped
            INGEST_STAGE_RECORDS.labels(source, name).inc(early.records)
            timings[name] = early.seconds
        return timings

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
