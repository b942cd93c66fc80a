"""The documents a run reads: files given on the command line (or the files of a folder), or a
crawl's JSON-lines output.

A file is not read when it is listed: its document opens it when the pipeline gets to it, and a
parser that reads streams (the CSV parsers) takes it a buffer at a time, decompressing a `.gz`
as it goes, so memory stays bounded whatever the file's size. Parsers of whole documents (HTML
pages, JSON feeds) get the bytes, decompressed.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from aiqleads.ingestion.crawl.documents import read_jsonl
from aiqleads.ingestion.records import Parser

_GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 512


@dataclass(frozen=True, slots=True)
class Document:
    name: str  # a path or URL, for the quarantine and the logs
    source: str  # the parser slug that reads it
    body: bytes | None = None  # in memory; else `path` is read when the document is opened
    path: Path | None = None
    # The parser, when it is not the registry's for `source` (a CSV read through an operator's
    # mapping: `aiqleads ingest --source csv --mapping M.toml`).
    parser: Parser | None = None

    def open(self) -> BinaryIO:
        """The document's bytes as a stream, a `.gz` file decompressed as it is read."""
        if self.body is not None:
            data = self.body
            memory = gzip.GzipFile(fileobj=io.BytesIO(data)) if _gzipped(data) else io.BytesIO(data)
            return cast(BinaryIO, memory)
        assert self.path is not None, "a document has a body or a path"
        with self.path.open("rb") as probe:
            compressed = _gzipped(probe.read(2))
        # Feeds are often saved compressed (the bundled King County sample is).
        return cast(BinaryIO, gzip.open(self.path, "rb") if compressed else self.path.open("rb"))

    def read(self) -> bytes:
        """All of the document's bytes, decompressed (for parsers of whole documents)."""
        if self.body is not None and not _gzipped(self.body):
            return self.body
        with self.open() as stream:
            return stream.read()

    def head(self) -> bytes:
        """The first bytes, for the quarantine of an unreadable document."""
        with self.open() as stream:
            return stream.read(HEAD_BYTES)

    @property
    def size(self) -> int:
        if self.body is not None:
            return len(self.body)
        assert self.path is not None
        return self.path.stat().st_size


def _gzipped(head: bytes) -> bool:
    return head[:2] == _GZIP_MAGIC


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given, a folder as its files (sorted, not recursive, hidden ones skipped)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(p for p in sorted(path.iterdir()) if p.is_file() and p.name[:1] != ".")
        else:
            out.append(path)
    return out


def from_files(
    paths: Sequence[Path], source: str, parser: Parser | None = None
) -> Iterator[Document]:
    """One document per file, opened only when the pipeline reads it."""
    for path in expand_paths(paths):
        yield Document(str(path), source, path=path, parser=parser)


def from_crawl(path: Path) -> Iterator[Document]:
    """Each crawled page as a document of the source the crawl was for."""
    for doc in read_jsonl(path):
        yield Document(doc.url, doc.source, doc.body)
