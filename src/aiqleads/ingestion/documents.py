"""The documents a run reads: files given on the command line, or a crawl's JSON-lines output."""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiqleads.ingestion.crawl.documents import read_jsonl

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Document:
    name: str  # a path or URL, for the quarantine and the logs
    source: str  # the parser slug that reads it
    body: bytes


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    # Feeds are often saved compressed (the bundled King County sample is); parsers want bytes.
    return gzip.decompress(data) if data[:2] == _GZIP_MAGIC else data


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given, a folder as its files (sorted, not recursive, hidden ones skipped)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(p for p in sorted(path.iterdir()) if p.is_file() and p.name[:1] != ".")
        else:
            out.append(path)
    return out


def from_files(paths: Sequence[Path], source: str) -> Iterator[Document]:
    for path in expand_paths(paths):
        yield Document(str(path), source, _read(path))


def from_crawl(path: Path) -> Iterator[Document]:
    """Each crawled page as a document of the source the crawl was for."""
    for doc in read_jsonl(path):
        yield Document(doc.url, doc.source, doc.body)
