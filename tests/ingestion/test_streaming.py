"""Memory that grows with the input (field case C15): files, `.gz` files and folders are read
as streams. `bench/ingest.py --large` measures the peak on the 313 MB file; these tests show the
reading is incremental."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.shared_data import FIXTURES

from aiqleads.db.engine import transaction
from aiqleads.ingestion.documents import Document, from_files
from aiqleads.ingestion.parsers.csv_source import CsvParser
from aiqleads.ingestion.parsers.registry import get_parser
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.ingestion.records import RawRecord
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import Lead

C07 = FIXTURES / "field_cases" / "C07_craigslist_asl7168_weekly_daily_rent.csv"


def _big_csv(rows: int) -> bytes:
    header, *body = C07.read_text().splitlines(keepends=True)
    monthly = body[-1]  # the control row
    lines = [header]
    for n in range(rows):
        lines.append(monthly.replace("7707000704", f"79{n:08d}", 1))
    return "".join(lines).encode()


class CountingStream(io.BytesIO):
    """A stream that remembers how far it has been read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.furthest = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.furthest = max(self.furthest, self.tell())
        return chunk

    def read1(self, size: int | None = -1) -> bytes:
        chunk = super().read1(size)
        self.furthest = max(self.furthest, self.tell())
        return chunk

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer)
        self.furthest = max(self.furthest, self.tell())
        return n


def test_a_csv_stream_is_read_a_buffer_at_a_time() -> None:
    data = _big_csv(5000)  # about 2.5 MB
    stream = CountingStream(data)
    parser = get_parser("craigslist_csv_asl7168")
    assert isinstance(parser, CsvParser)  # the CSV parsers read streams, not only bytes
    records = iter(parser.stream(stream))
    first = next(records)
    assert isinstance(first, RawRecord) and first.source_ref == "7900000000"
    assert stream.furthest < len(data) // 10  # the first record came before the file was read
    assert sum(1 for _ in records) == 4999


def test_files_gz_files_and_folders_are_opened_only_when_read(tmp_path: Path) -> None:
    data = _big_csv(50)
    (tmp_path / "a.csv").write_bytes(data)
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(data))
    (tmp_path / ".hidden.csv").write_bytes(b"not me")
    documents = list(from_files([tmp_path], "craigslist_csv_asl7168"))
    assert [Path(d.name).name for d in documents] == ["a.csv", "b.csv.gz"]
    assert all(d.body is None and d.path is not None for d in documents)  # nothing read yet
    plain, packed = (d.read() for d in documents)
    assert plain == packed == data
    with documents[1].open() as stream:
        assert stream.read(8) == data[:8]  # decompressed as it is read


async def test_a_gz_file_ingests_like_the_plain_file_and_reports_rows(
    sessions: async_sessionmaker[AsyncSession],
    make_pipeline: Callable[..., Pipeline],
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    path = tmp_path / "rents.csv.gz"
    path.write_bytes(gzip.compress(_big_csv(300)))
    seen: list[int] = []
    summary = await make_pipeline(batch_size=100).run(
        sessions,
        from_files([path], "craigslist_csv_asl7168"),
        metro="dallas",
        now=clock.now(),
        progress=seen.append,
    )
    assert summary.read == 300 and seen == [100, 100, 100]
    async with transaction(sessions) as session:
        # the same street and point on every row: one home, 299 sightings merged into it
        assert await session.scalar(select(func.count()).select_from(Lead)) == 1
    assert summary.outcomes["created"] + summary.outcomes["merged"] == 300


async def test_a_truncated_gz_file_keeps_its_records_and_quarantines_the_rest(
    sessions: async_sessionmaker[AsyncSession],
    make_pipeline: Callable[..., Pipeline],
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress(_big_csv(2000))[:5000])
    document = Document(str(path), "craigslist_csv_asl7168", path=path)
    summary = await make_pipeline().run(sessions, [document], metro="dallas", now=clock.now())
    assert summary.read > 0  # the records before the damage
    assert summary.quarantined_by_reason == {"parse_failed": 1}
